#!/bin/bash
# Fault check on the LIO test bed: the device goes away while `lock` waits for it.
# Runs in the guest with the TB_* variables; usage: device-gone.sh STORAGE_CTL WORKDIR
# A holds the LU; B waits in `lock`; B's SCSI device is then deleted (as when a path or an HBA
# goes away). B must stop with exit 3 and exactly one error line naming the device, after its
# progress line; A's lock is untouched. Prints "ok N - ..." / "not ok N - ..." lines.
set -u
BIN=$1 WORK=$2
n=0 fails=0
check() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; }
mkdir -p "$WORK"
printf 'key=bac001\nhost_bac001=cibou\nhost_bac999=dir\n' > "$WORK/a.conf"
printf 'key=bac999\nhost_bac001=cibou\nhost_bac999=dir\nmax_lock_wait=60\n' > "$WORK/b.conf"
chmod 600 "$WORK/a.conf" "$WORK/b.conf"

timeout 20 "$BIN" -c "$WORK/a.conf" "$TB_A_SG" lock; check $? "A locks $TB_A_SG"
timeout 90 "$BIN" -c "$WORK/b.conf" "$TB_B_SG" lock > "$WORK/b.out" 2> "$WORK/b.err" &
waiter=$!
for _ in $(seq 1 500); do grep -q "waiting up to" "$WORK/b.err" 2>/dev/null && break; sleep 0.02; done
grep -q "lock held by 0xbac001 (cibou); waiting up to 60 s" "$WORK/b.err"; check $? "B waits, naming A"
echo 1 > "/sys/class/scsi_device/$TB_B_HCTL/device/delete"; check $? "B's device $TB_B_HCTL deleted"
wait "$waiter"; rc=$?
[ "$rc" = 3 ]; check $? "B's lock exits 3 when its device goes away (got $rc)"
lines=$(wc -l < "$WORK/b.err")
[ "$lines" = 2 ] && grep -q "^storage-ctl: $TB_B_SG: " <(tail -n 1 "$WORK/b.err"); check $? "one error line naming $TB_B_SG after the progress line"
sed 's/^/#   /' "$WORK/b.err"
[ "$(timeout 20 "$BIN" -c "$WORK/a.conf" "$TB_A_SG" wholocked)" = 0xbac001 ]; check $? "A still holds the lock (wholocked: the bare key)"
echo "$((n - fails)) passed, $fails failed"
[ "$fails" = 0 ]
