#!/bin/sh
# CI: install nimwatch the way a NIM master without network or compiler does, on this host's Python 3.9.
#
#   scripts/check_offline_install.sh /path/to/python3.9
#
# 1. scripts/make_wheelhouse.py fills .ci/wheelhouse (this part uses the network);
# 2. a fresh Python 3.9 venv installs nimwatch from it with --no-index, watchdog and PyYAML
#    built from their sources (--no-binary), no compiler (CC=/bin/false) and no wheel cache;
# 3. the installed nimwatch checks its rule catalog and reports on sample logs.
# The host's own pip settings (extra indexes, find-links, constraints) are kept out.
set -eu
PY39=${1:?usage: $0 PYTHON3.9}
cd "$(dirname "$0")/.."
WHEELS=.ci/wheelhouse
VENV=.ci/venv-offline
export PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1
unset PIP_FIND_LINKS PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_CONSTRAINT PIP_NO_INDEX 2>/dev/null || true

rm -rf "$WHEELS" "$VENV"
"${PYTHON:-python3}" scripts/make_wheelhouse.py --dest "$WHEELS" >"$WHEELS.log" 2>&1 || { cat "$WHEELS.log"; exit 1; }
"$PY39" -m venv "$VENV"
start=$(date +%s)
CC=/bin/false CXX=/bin/false LDSHARED=/bin/false \
    "$VENV/bin/python" -m pip install -v --no-index --find-links "$WHEELS" --no-binary watchdog,pyyaml \
    --no-cache-dir -c "$WHEELS/constraints.txt" nimwatch >"$VENV.log" 2>&1 || { tail -40 "$VENV.log"; exit 1; }
end=$(date +%s)
echo "ci: offline install on $("$VENV/bin/python" -V) from $WHEELS (no index, no compiler, watchdog and PyYAML from source): $((end - start)) s"
grep -q "Processing ./$WHEELS/pyyaml-.*\.tar\.gz" "$VENV.log" && grep -q "Processing ./$WHEELS/watchdog-.*\.tar\.gz" "$VENV.log" \
    || { echo "ci: watchdog and PyYAML were not built from their sources" >&2; exit 1; }
grep -q "falling back to pure Python" "$VENV.log" \
    || { echo "ci: PyYAML did not report its fall-back to pure Python" >&2; exit 1; }
"$VENV/bin/python" -c 'import sys, yaml; sys.exit("PyYAML has its C extension: a compiler was used" if yaml.__with_libyaml__ else 0)'
test -f "$VENV/share/man/man1/nimwatch.1"
test -f "$VENV/share/nimwatch/nimwatch-config.schema.json"
"$VENV/bin/nimwatch" check-rules
"$VENV/bin/nimwatch" report sample_logs/web73_alt_mig.log >/dev/null
status=0
"$VENV/bin/nimwatch" report --format json sample_logs/ >"$VENV.report.json" 2>/dev/null || status=$?
[ "$status" = 1 ] || { echo "ci: report over sample_logs/ exited $status, expected 1 (some samples failed)" >&2; exit 1; }
"$VENV/bin/python" -c 'import json, sys; d = json.load(open(sys.argv[1])); assert d["schema"] == 1 and len(d["runs"]) >= 17, d.keys()' "$VENV.report.json"
echo "ci: the offline install works: check-rules and report ran"
