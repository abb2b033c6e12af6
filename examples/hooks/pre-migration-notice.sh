#!/bin/sh
# nimwatch hook: tell the application team that the pre-migration step has started.
#
# Config (examples/hooks/nimwatch.yaml):
#   on: [pre_migration]    env: APP_TEAM_MAIL (optional)
#
# Phase 4 is where nimadm runs the -a pre-migration script; the client keeps
# running (nimadm works on a copy), but the team may want to freeze changes
# until the switch to the new disk. A line goes to syslog (logger) and, when
# APP_TEAM_MAIL is set, a short mail. Values are only printed, never evaluated.
set -u

client=$(printf '%s' "${NIMWATCH_CLIENT:-unknown}" | tr '\r\n' '  ')
text="nimadm migration of $client: pre-migration (phase 4) started; please hold changes to $client until the reboot onto the migrated disk is announced"

if command -v logger >/dev/null 2>&1; then
    logger -t nimwatch -p user.notice "$text"
fi
if [ -n "${APP_TEAM_MAIL:-}" ]; then
    if ! command -v mail >/dev/null 2>&1; then
        printf 'pre-migration-notice: mail not found\n' >&2
        exit 1
    fi
    printf '%s\n\nlog on the NIM master: %s\n' "$text" "${NIMWATCH_LOG:-}" \
        | mail -s "Migration of $client: pre-migration started" "$APP_TEAM_MAIL"
fi
printf '%s\n' "$text"
