#!/bin/sh
# Add nimwatch to SMIT: a nimwatch menu (smitty nimwatch) under NIM's menu, with dialogs for status,
# report, preflight and run (fast paths nimwatch_status, nimwatch_report, nimwatch_preflight,
# nimwatch_run). Run as root on the NIM master. Running it again replaces what it added.
#
#   contrib/smit/install.sh
#
# Settings (environment): NIMWATCH_BIN (the nimwatch command, default /opt/freeware/bin/nimwatch),
# NIMWATCH_SMIT_PARENT (the SMIT menu to add the nimwatch item to; default: NIM's menu "nim" when SMIT
# has it, else Applications "apps"), ODMDIR (default /usr/lib/objrepos), NIMWATCH_SMIT_BACKUP (where
# the SMIT classes are saved first, default /var/lib/nimwatch/smit-backup.<date>).
# Undo with contrib/smit/uninstall.sh.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
ODMDIR=${ODMDIR:-/usr/lib/objrepos}
export ODMDIR
SHIPPED_BIN=/opt/freeware/bin/nimwatch
BIN=${NIMWATCH_BIN:-$SHIPPED_BIN}
PARENT=${NIMWATCH_SMIT_PARENT:-}

case "$BIN" in
    /*) ;;
    *) echo "$0: NIMWATCH_BIN must be an absolute path: $BIN" >&2; exit 2 ;;
esac
case "$BIN$PARENT" in
    *[!A-Za-z0-9_./-]*) echo "$0: NIMWATCH_BIN and NIMWATCH_SMIT_PARENT may hold only letters, digits and _ . / -" >&2; exit 2 ;;
esac
if [ ! -x "$BIN" ]; then
    echo "$0: warning: $BIN is not executable here; the SMIT dialogs will call it (set NIMWATCH_BIN)" >&2
fi

# The menu that holds the nimwatch item: NIM's menu when "nim" is a menu (or an alias of one).
menu_of() {
    # odmget stanzas of sm_menu_opt objects with id = $1 -> "menu" if one is a real item, else the
    # next_id of an alias
    odmget -q "id = '$1'" sm_menu_opt | awk -F'"' '
        /^[[:space:]]*next_id[[:space:]]*=/ { next_id = $2 }
        /^[[:space:]]*alias[[:space:]]*=/ { alias = $2 }
        /^sm_menu_opt:/ { if (seen) { if (alias == "y") target = next_id; else real = 1 } seen = 1; next_id = ""; alias = "" }
        END { if (seen) { if (alias == "y") target = next_id; else real = 1 }
              if (real) print "menu"; else if (target != "") print target }'
}

if [ -z "$PARENT" ]; then
    found=$(menu_of nim)
    case "$found" in
        menu) PARENT=nim ;;
        "") PARENT=apps
            echo "$0: SMIT has no menu \"nim\" here; the nimwatch item goes under Applications (apps)" >&2 ;;
        *) PARENT=$found ;;
    esac
fi

"$HERE/uninstall.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/nimwatch-smit.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
sed "s#$SHIPPED_BIN#$BIN#g" "$HERE/nimwatch.add" > "$work/nimwatch.add"
sed "s#^\\([[:space:]]*id = \\)\"nim\"\$#\\1\"$PARENT\"#" "$HERE/nimwatch_link.add" > "$work/nimwatch_link.add"
odmadd "$work/nimwatch.add"
odmadd "$work/nimwatch_link.add"
echo "nimwatch added to SMIT under \"$PARENT\": smitty nimwatch (remove: $HERE/uninstall.sh)"
