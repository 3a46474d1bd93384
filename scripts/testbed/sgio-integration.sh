#!/bin/bash
# SG_IO integration run: builds the test binary on the host, boots the test-bed VM once (with the
# scsi_debug tape), and runs the SGIOIntegrationTests suite in it as root and then as an
# unprivileged user. Prints the measurements (also left in $OUT/report.txt).
#
# usage: scripts/testbed/sgio-integration.sh [--no-build] [--scratch-path DIR] [--out DIR] [-v]
#   --scratch-path DIR   SwiftPM scratch path of the build to use (default .build-sgio)
#   --no-build           use the binary already built there
#   --out DIR            where report.txt and lsscsi.txt go (default $SCRATCH/sgio-integration)
# exit status: the guest's (0 = every check passed)
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SCRATCH=.build-sgio; BUILD=1; OUT=""; VMOPTS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --scratch-path) SCRATCH=$2; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --out) OUT=$2; shift 2 ;;
        -v) VMOPTS+=(-v); shift ;;
        -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d'; exit 0 ;;
        *) echo "sgio-integration.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
cd "$ROOT" || exit 2
case "$SCRATCH" in /*) ;; *) SCRATCH=$ROOT/$SCRATCH ;; esac
OUT=${OUT:-$SCRATCH/sgio-integration}
SWIFT=${SWIFT:-$(command -v swift || echo /opt/swift/usr/bin/swift)}

"$HERE/setup.sh" > /dev/null || { echo "sgio-integration.sh: test-bed setup failed" >&2; exit 2; }
if [ "$BUILD" = 1 ]; then
    "$SWIFT" build --scratch-path "$SCRATCH" --build-tests >&2 || exit 2
fi
BIN=$SCRATCH/debug/storage-ctlPackageTests.xctest
[ -x "$BIN" ] || { echo "sgio-integration.sh: no test binary at $BIN" >&2; exit 2; }
mkdir -p "$OUT" && rm -f "$OUT/report.txt" "$OUT/lsscsi.txt" && chmod 0777 "$OUT"

# Runs in the guest (bash, as root, cwd = $ROOT). Every step is bounded by timeout(1): a hung
# SG_IO must not hold the VM until run-in-vm.sh's own limit.
GUEST=$(cat <<GUEST_EOF
set -u
export NO_COLOR=1
OUT=$(printf %q "$OUT"); BIN=$(printf %q "$BIN")
export STORAGE_CTL_TB_A_SG=\$TB_A_SG STORAGE_CTL_TB_B_SG=\$TB_B_SG
export STORAGE_CTL_TB_A_DEV=\$TB_A_DEV STORAGE_CTL_TB_B_DEV=\$TB_B_DEV
export STORAGE_CTL_TB_TAPE_NST=\${TB_TAPE_NST:-} STORAGE_CTL_TB_TAPE_SG=\${TB_TAPE_SG:-}
export STORAGE_CTL_TB_LSSCSI=\$OUT/lsscsi.txt STORAGE_CTL_TB_REPORT=\$OUT/report.txt
lsscsi -g > "\$OUT/lsscsi.txt"
touch "\$OUT/report.txt" && chmod 0666 "\$OUT/report.txt"
echo "kernel \$(uname -r); LIO LU through A: \$TB_A_SG \$TB_A_DEV (\$TB_A_HCTL), B: \$TB_B_SG \$TB_B_DEV (\$TB_B_HCTL); tape \${TB_TAPE_NST:-none} -> \${TB_TAPE_SG:-none}" >> "\$OUT/report.txt"
t0=\$EPOCHREALTIME
timeout -k 5 120 "\$BIN" --testing-library swift-testing --filter SGIOIntegration; rc=\$?
t1=\$EPOCHREALTIME
echo "test binary as root: exit \$rc, \$(awk "BEGIN{printf \"%.2f\", \$t1-\$t0}") s" >> "\$OUT/report.txt"
STORAGE_CTL_TB_UNPRIVILEGED=1 timeout -k 5 60 setpriv --reuid=65534 --regid=65534 --clear-groups \
    "\$BIN" --testing-library swift-testing --filter SGIOIntegration; rc2=\$?
echo "test binary as uid 65534: exit \$rc2" >> "\$OUT/report.txt"
[ \$rc = 0 ] && [ \$rc2 = 0 ]
GUEST_EOF
)
"$HERE/run-in-vm.sh" "${VMOPTS[@]}" --tape --rw "$OUT" --timeout 300 "$GUEST"
rc=$?
echo "---- $OUT/report.txt"
cat "$OUT/report.txt" 2>/dev/null
exit $rc
