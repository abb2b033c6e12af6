#!/bin/sh
# nimwatch hook: page the on-call admin through a paging webhook when a migration fails.
#
# Config (examples/hooks/nimwatch.yaml):
#   on: [run_failed]    env: PAGER_URL (required),
#                            PAGER_HEADER_FILE (optional: a file of HTTP headers,
#                            e.g. "Authorization: Bearer ...", readable by root only)
#
# The request body is the event exactly as nimwatch wrote it on stdin (valid
# JSON), so no value is pasted into JSON or a shell line here. A secret stays in
# a file (curl -H @file, curl 7.55+) instead of the command line, where ps
# would show it. Adapt the URL to your paging service's generic webhook.
set -u

url=${PAGER_URL:?set PAGER_URL in the hook env}
set -- --silent --show-error --fail --max-time 30 \
    --proto =https,http \
    --header 'Content-Type: application/json' \
    --header "X-Nimwatch-Client: $(printf '%s' "${NIMWATCH_CLIENT:-}" | tr -cd 'A-Za-z0-9._-')" \
    --data-binary @-
if [ -n "${PAGER_HEADER_FILE:-}" ]; then
    set -- "$@" --header "@${PAGER_HEADER_FILE}"
fi
exec curl "$@" -- "$url"
