#!/bin/sh
# Keep the files SRC gives nimwatch as stdout and stderr (mkssys -o, -e) bounded. From root's crontab:
#
#   0 * * * * /usr/local/lib/nimwatch/trim-nimwatch-output.sh /var/log/nimwatch/events.jsonl /var/log/nimwatch/stderr.log
#
# A FILE larger than NIMWATCH_TRIM_MAX_KB kilobytes (default 10240) is copied to FILE.1 (older
# copies move to FILE.2 ... FILE.N, N = NIMWATCH_TRIM_KEEP, default 5; the oldest is dropped) and
# emptied in place. nimwatch keeps writing: it puts its stdout and stderr in append mode
# (O_APPEND) at start, so it goes on at the new end of the file without a hole. A line written
# between the copy and the emptying is lost; nothing else is. nimwatch's own diagnostics
# (--log-file) are rotated by nimwatch and need nothing here.
set -eu
MAX_KB=${NIMWATCH_TRIM_MAX_KB:-10240}
KEEP=${NIMWATCH_TRIM_KEEP:-5}
case "$MAX_KB$KEEP" in
    *[!0-9]*) echo "$0: NIMWATCH_TRIM_MAX_KB and NIMWATCH_TRIM_KEEP must be numbers" >&2; exit 2 ;;
esac
if [ $# -eq 0 ] || [ "$KEEP" -lt 1 ]; then
    echo "usage: $0 FILE...   (NIMWATCH_TRIM_MAX_KB, default 10240; NIMWATCH_TRIM_KEEP, 1 or more, default 5)" >&2
    exit 2
fi
for file in "$@"; do
    [ -f "$file" ] || continue
    size=$(wc -c < "$file")
    [ "$size" -gt $((MAX_KB * 1024)) ] || continue
    n=$KEEP
    rm -f "$file.$n"
    while [ "$n" -gt 1 ]; do
        prev=$((n - 1))
        [ -f "$file.$prev" ] && mv -f "$file.$prev" "$file.$n"
        n=$prev
    done
    cp -p "$file" "$file.1"
    : > "$file"
done
