#!/bin/sh
# nimwatch hook: check a migrated client once nimadm's phase 7 (post-migration) is done.
#
# Config (examples/hooks/nimwatch.yaml):
#   on: [post_migration]    env: CHECK_EXPECT_LEVEL (e.g. 7300-02),
#                                CHECK_REPORT_DIR (default /var/adm/nimwatch/checks)
#
# Phase 7 is where nimadm runs the -z post-migration script, after installp
# and before bosboot. This check reads the migration log (as data, with fixed
# strings) for the level install_all_updates found and its result, and writes
# one report per client; a non-zero exit shows as a failed hook_result. The
# client name only becomes a file name after every unusual character is
# replaced, so it cannot point outside the report directory.
set -u

report_dir=${CHECK_REPORT_DIR:-/var/adm/nimwatch/checks}
log=${NIMWATCH_LOG:?no NIMWATCH_LOG}
client=${NIMWATCH_CLIENT:-unknown}
safe=$(printf '%s' "$client" | tr -c 'A-Za-z0-9._-' '_')
mkdir -p "$report_dir" || exit 1
report="$report_dir/$safe.post_migration.txt"

status=0
(
    printf 'client: %s\nlog: %s\nphase 7 status: %s\n' "$client" "$log" "${NIMWATCH_STATUS:-}"
    if [ "${NIMWATCH_STATUS:-done}" != done ]; then
        printf 'RESULT: phase 7 did not complete; nothing to check\n'
        exit 2
    fi
    level=$(grep -F 'oslevel -rf, Result = ' "$log" | tail -n 1 | sed 's/.*Result = //')
    result=$(grep -F 'install_all_updates: Result = ' "$log" | tail -n 1 | sed 's/.*Result = //')
    printf 'level: %s\ninstall_all_updates: %s\n' "${level:-unknown}" "${result:-unknown}"
    if [ -n "${CHECK_EXPECT_LEVEL:-}" ] && [ "$level" != "$CHECK_EXPECT_LEVEL" ]; then
        printf 'CHECK FAILED: expected level %s\n' "$CHECK_EXPECT_LEVEL"
        exit 1
    fi
    if [ -n "$result" ] && [ "$result" != SUCCESS ]; then
        printf 'CHECK FAILED: install_all_updates did not succeed\n'
        exit 1
    fi
    if [ "$safe" = "$client" ] && command -v lsnim >/dev/null 2>&1; then
        printf '\nlsnim -l %s:\n' "$client"
        lsnim -l "$client" 2>&1
    fi
    printf 'RESULT: OK\n'
) >"$report" 2>&1 || status=$?
if [ "$status" -eq 2 ]; then
    status=0
fi
cat "$report"
exit "$status"
