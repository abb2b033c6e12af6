#!/bin/sh
# nimwatch hook: leave a record of every finished migration in the AIX error log.
#
# Config (examples/hooks/nimwatch.yaml):
#   on: [run_succeeded, run_failed]
#
# errlogger(1) writes an OPMSG entry ("errpt -J OPMSG" shows them); its message
# is limited to 230 bytes, so the text is cut. The message is passed as one
# argument: nothing in it is interpreted.
set -u

outcome=${NIMWATCH_OUTCOME:-finished}
msg="nimwatch: nimadm migration of ${NIMWATCH_CLIENT:-unknown} ${outcome}"
if [ "$outcome" = failed ] && [ -n "${NIMWATCH_PHASE:-}" ]; then
    msg="$msg in phase ${NIMWATCH_PHASE} (${NIMWATCH_PHASE_NAME:-})"
fi
msg="$msg; log ${NIMWATCH_LOG:-}"
msg=$(printf '%s' "$msg" | tr '\r\n' '  ' | cut -c1-230)

if ! command -v errlogger >/dev/null 2>&1; then
    printf 'errlog-record: errlogger not found (it is part of bos.rte.serv_aid on AIX)\n' >&2
    exit 1
fi
exec errlogger "$msg"
