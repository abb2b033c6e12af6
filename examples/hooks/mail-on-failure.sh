#!/bin/sh
# nimwatch hook: mail the admins when a nimadm migration fails.
#
# Config (examples/hooks/nimwatch.yaml):
#   on: [run_failed]          env: MAIL_TO (required), MAIL_FROM (optional)
#
# Everything about the event comes from NIMWATCH_* variables and is only ever
# printed as data: nothing from the log or its file name is evaluated. Header
# values lose their line breaks so a strange client name cannot add headers.
# Uses mail(1) when present (AIX: /usr/bin/mail), else sendmail.
set -u

to=${MAIL_TO:?set MAIL_TO in the hook env}
from=${MAIL_FROM:-}

oneline() {
    printf '%s' "$1" | tr '\r\n' '  '
}

client=$(oneline "${NIMWATCH_CLIENT:-unknown}")
host=$(uname -n 2>/dev/null || printf 'nim-master')
subject="nimadm migration of ${client} FAILED on ${host}"

body() {
    printf 'The nimadm migration of %s failed.\n\n' "$client"
    printf '  what:   %s\n' "${NIMWATCH_MESSAGE:-}"
    printf '  phase:  %s %s\n' "${NIMWATCH_PHASE:-}" "${NIMWATCH_PHASE_NAME:-}"
    printf '  run:    %s\n' "${NIMWATCH_RUN:-}"
    printf '  line:   %s\n' "${NIMWATCH_LINE:-}"
    printf '  log:    %s\n\n' "${NIMWATCH_LOG:-}"
    printf 'Post-mortem report:  nimwatch report %s\n' "${NIMWATCH_LOG:-}"
    printf 'Cleanup before a re-run:  nimadm -C -c %s -s <spot>\n\n' "$client"
    printf 'The event as nimwatch saw it:\n'
    cat
}

if command -v mail >/dev/null 2>&1; then
    body | mail -s "$subject" "$to"
elif [ -x /usr/sbin/sendmail ] || command -v sendmail >/dev/null 2>&1; then
    sendmail=/usr/sbin/sendmail
    [ -x "$sendmail" ] || sendmail=$(command -v sendmail)
    {
        printf 'To: %s\n' "$(oneline "$to")"
        [ -n "$from" ] && printf 'From: %s\n' "$(oneline "$from")"
        printf 'Subject: %s\n\n' "$subject"
        body
    } | "$sendmail" -oi -- "$to"
else
    printf 'mail-on-failure: neither mail nor sendmail found\n' >&2
    exit 1
fi
