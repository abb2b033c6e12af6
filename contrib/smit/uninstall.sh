#!/bin/sh
# Remove nimwatch from SMIT: every SMIT object whose id (or, for the menu item that leads to the
# nimwatch menu, whose next_id) starts with "nimwatch".
#
#   contrib/smit/uninstall.sh               back up the SMIT classes, then remove the objects
#   contrib/smit/uninstall.sh --no-backup   remove only (install.sh uses this before adding again)
#
# Settings (environment): ODMDIR (default /usr/lib/objrepos, where SMIT's classes live),
# NIMWATCH_SMIT_BACKUP (backup directory, default /var/lib/nimwatch/smit-backup.<date>).
set -eu

ODMDIR=${ODMDIR:-/usr/lib/objrepos}
export ODMDIR
PREFIX=nimwatch

backup() {
    dir=${NIMWATCH_SMIT_BACKUP:-/var/lib/nimwatch/smit-backup.$(date +%Y%m%d%H%M%S)}
    mkdir -p "$dir"
    for class in sm_menu_opt sm_name_hdr sm_cmd_hdr sm_cmd_opt; do
        for file in "$ODMDIR/$class" "$ODMDIR/$class.vc"; do
            if [ -f "$file" ]; then
                cp -p "$file" "$dir/"
            fi
        done
    done
    echo "SMIT classes of $ODMDIR saved in $dir (restore: cp -p $dir/sm_* $ODMDIR/)"
}

case "${1:-}" in
    "") backup ;;
    --no-backup) ;;
    -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--no-backup]" >&2; exit 2 ;;
esac

odmdelete -o sm_menu_opt -q "id like '$PREFIX*'"
odmdelete -o sm_menu_opt -q "next_id like '$PREFIX*'"
odmdelete -o sm_name_hdr -q "id like '$PREFIX*'"
odmdelete -o sm_cmd_hdr -q "id like '$PREFIX*'"
odmdelete -o sm_cmd_opt -q "id like '$PREFIX*'"
echo "nimwatch removed from SMIT"
