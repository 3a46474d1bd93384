#!/bin/bash
# The integration suites on the LIO test bed, in ONE VM boot (~7 s of boot under TCG, then the
# checks): the storage-ctl CLI through two initiators of real LIO logical units (tcm_loop and
# iSCSI), interop with the real sg_persist both ways, I/O enforcement, unit attentions, tape-node
# resolution, the sg_persist personality against the real sg_persist, and the SG_IO XCTest suite
# (Tests/TransportsTests/SGIOIntegrationTests.swift). The guest side is cli-on-lio.sh.
#
# usage: Tests/Integration/run-on-testbed.sh [--scratch-path DIR] [--bin FILE] [--xctest FILE | --no-xctest]
#                                            [--build] [--out DIR] [-v]
#   --scratch-path DIR  SwiftPM scratch path whose debug build is used (default .build)
#   --bin FILE          storage-ctl binary (default DIR/debug/storage-ctl)
#   --xctest FILE       test bundle for the SG_IO suite (default DIR/debug/storage-ctlPackageTests.xctest
#                       when it exists); --no-xctest skips it
#   --build             swift build --build-tests into DIR first
#   --out DIR           transcript (cli-on-lio.log), report.txt, sg_persist transcripts
#                       (default DIR/integration)
# Prints one line per check and ends with "P passed, F failed"; exit status 0 only if all passed.
# Installs the test bed first if needed (scripts/testbed/setup.sh --iscsi: apt-get, needs root).
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TB=$ROOT/scripts/testbed
SCRATCH=.build; BIN=""; XCTEST=""; NO_XCTEST=0; BUILD=0; OUT=""; VMOPTS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --scratch-path) SCRATCH=$2; shift 2 ;;
        --bin) BIN=$2; shift 2 ;;
        --xctest) XCTEST=$2; shift 2 ;;
        --no-xctest) NO_XCTEST=1; shift ;;
        --build) BUILD=1; shift ;;
        --out) OUT=$2; shift 2 ;;
        -v) VMOPTS+=(-v); shift ;;
        -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d'; exit 0 ;;
        *) echo "run-on-testbed.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
cd "$ROOT" || exit 2
case "$SCRATCH" in /*) ;; *) SCRATCH=$ROOT/$SCRATCH ;; esac
OUT=$(realpath -m "${OUT:-$SCRATCH/integration}")
SWIFT=${SWIFT:-$(command -v swift || echo /opt/swift/usr/bin/swift)}

fail_setup() { echo "FAIL 1 - $*"; echo "0 passed, 1 failed"; exit 1; }
"$TB/setup.sh" --iscsi > /dev/null || fail_setup "test-bed setup ($TB/setup.sh --iscsi)"
if [ "$BUILD" = 1 ]; then
    "$SWIFT" build --scratch-path "$SCRATCH" --build-tests >&2 || fail_setup "swift build --build-tests"
fi
BIN=$(realpath -m "${BIN:-$SCRATCH/debug/storage-ctl}")
[ -x "$BIN" ] || fail_setup "no storage-ctl binary at $BIN (build first, or --build)"
if [ "$NO_XCTEST" = 1 ]; then XCTEST=""
elif [ -z "$XCTEST" ] && [ -x "$SCRATCH/debug/storage-ctlPackageTests.xctest" ]; then
    XCTEST=$SCRATCH/debug/storage-ctlPackageTests.xctest
fi
[ -z "$XCTEST" ] || XCTEST=$(realpath -m "$XCTEST")
mkdir -p "$OUT" && chmod 0777 "$OUT"
rm -f "$OUT"/*.txt "$OUT"/*.log

# Guest side; every step inside is bounded by timeout(1), the whole run by run-in-vm's --timeout.
GUEST="timeout -k 10 840 bash $(printf %q "$HERE/cli-on-lio.sh") $(printf %q "$BIN") $(printf %q "$OUT") $(printf %q "$XCTEST")"
t0=$(date +%s.%N)
# the closing line is held back so that the timing note (stderr) does not follow it
"$TB/run-in-vm.sh" "${VMOPTS[@]}" --tape --rw "$OUT" --timeout 900 "$GUEST" | tee "$OUT/summary.txt" \
    | grep --line-buffered -vE '^[0-9]+ passed, [0-9]+ failed$'
rc=${PIPESTATUS[0]}
t1=$(date +%s.%N)
last=$(tail -n 1 "$OUT/summary.txt")
if ! [[ $last =~ ^[0-9]+\ passed,\ [0-9]+\ failed$ ]]; then
    n=$(grep -cE '^(ok|FAIL) [0-9]+ ' "$OUT/summary.txt")
    p=$(grep -cE '^ok [0-9]+ ' "$OUT/summary.txt")
    echo "FAIL $((n + 1)) - the test-bed run ended early (exit $rc): see $OUT/cli-on-lio.log"
    echo "$p passed, $((n - p + 1)) failed"
    exit 1
fi
echo "run-on-testbed.sh: one VM run, $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s; transcript and report in $OUT" >&2
echo "$last"
exit "$rc"
