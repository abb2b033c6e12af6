#!/bin/sh
# Register nimwatch with AIX's System Resource Controller (SRC).
#
#   contrib/aix/mkssys-nimwatch.sh        define the subsystem (then: startsrc -s nimwatch)
#   contrib/aix/mkssys-nimwatch.sh -n     print the mkssys command only
#   contrib/aix/mkssys-nimwatch.sh -r     remove the definition (stopsrc first)
#
# SRC stops it with SIGTERM (stopsrc -s nimwatch: clean stop, state journal flushed) and
# SIGKILL only after 60 s (stopsrc -f). It restarts it after an abnormal exit. Reload the
# config with SIGHUP:  kill -HUP $(lssrc -s nimwatch | awk 'NR == 2 { print $3 }')
# JSON lines go to NIMWATCH_OUT, diagnostics to NIMWATCH_ERR. See docs/service.md.
#
# Settings (environment): NIMWATCH_BIN, NIMWATCH_CONFIG, NIMWATCH_STATE, NIMWATCH_LOGDIR,
# NIMWATCH_OUT, NIMWATCH_ERR, NIMWATCH_SUBSYS.
set -eu

SUBSYS=${NIMWATCH_SUBSYS:-nimwatch}
BIN=${NIMWATCH_BIN:-/opt/freeware/bin/nimwatch}
CONFIG=${NIMWATCH_CONFIG:-/etc/nimwatch/nimwatch.yaml}
STATE=${NIMWATCH_STATE:-/var/lib/nimwatch/state.db}
LOGDIR=${NIMWATCH_LOGDIR:-/var/adm/ras/alt_mig}
OUT=${NIMWATCH_OUT:-/var/log/nimwatch.jsonl}
ERR=${NIMWATCH_ERR:-/var/log/nimwatch.err}

usage() {
    echo "usage: $0 [-n | -r]   (-n: print the mkssys command, -r: remove the subsystem)"
}

case "${1:-}" in
    "") DRY=0 ;;
    -n) DRY=1 ;;
    -r) exec rmssys -s "$SUBSYS" ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
esac

for value in "$CONFIG" "$STATE" "$LOGDIR"; do
    case "$value" in
        *" "*) echo "$0: paths with blanks cannot be passed through mkssys -a: $value" >&2; exit 2 ;;
    esac
done

# Arguments go to nimwatch as one string (mkssys -a); no shell is involved when SRC starts it.
ARGS="watch --config $CONFIG --state $STATE $LOGDIR"
set -- mkssys -s "$SUBSYS" -p "$BIN" -a "$ARGS" -u 0 \
    -i /dev/null -o "$OUT" -e "$ERR" \
    -R -Q -S -n 15 -f 9 -w 60

if [ "$DRY" = 1 ]; then
    for word in "$@"; do printf "'%s' " "$word"; done
    echo
    exit 0
fi
if lssrc -s "$SUBSYS" >/dev/null 2>&1; then
    echo "$0: subsystem $SUBSYS already exists (stopsrc -s $SUBSYS; $0 -r; then run this again)" >&2
    exit 1
fi
if [ ! -x "$BIN" ]; then
    echo "$0: $BIN is not an executable nimwatch (set NIMWATCH_BIN)" >&2
    exit 1
fi
mkdir -p "$(dirname "$STATE")"
chmod 750 "$(dirname "$STATE")"
"$@"
echo "defined SRC subsystem $SUBSYS: startsrc -s $SUBSYS; lssrc -s $SUBSYS; stopsrc -s $SUBSYS"
