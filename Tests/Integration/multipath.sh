#!/bin/bash
# dm-multipath on the LIO test bed, without multipathd. Runs in the guest; usage:
#   multipath.sh STORAGE_CTL WORKDIR   (with MP_A_DEV MP_A_HCTL MP_A_INITIATOR MP_B_DEV MP_B_SG: an iSCSI LU
#                                       of add-lus.sh, A and B its two hosts' paths)
# A logs in a second session of its initiator name, and a map made with `dmsetup create` (multipath
# target, round-robin over A's two paths) is A's device. storage-ctl drives the map through the kernel's
# block-layer PR ioctls (the default for a map): REGISTER goes down both paths, which the real sg_persist
# checks through each path node; with either path failed (`dmsetup message ... fail_path`), status, unlock
# and lock still work. B, the other host, is refused at every step (`dd iflag=direct` through its node,
# and its trylock). Then the same on A's /dev/sdX with --backend block. Prints "ok N - ..." /
# "not ok N - ..." lines, "# ..." transcript lines, and "P passed, F failed".
set -u
BIN=$1 WORK=$2
n=0 fails=0 RC=0
check() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; }
mkdir -p "$WORK"
for side in a b; do
    key=bac001; [ $side = b ] && key=bac999
    printf 'key=%s\nhost_bac001=cibou\nhost_bac999=dir\ndebug_log=1\ndebug_file=%s\n' "$key" "$WORK/debug-$side.log" > "$WORK/$side.conf"
    chmod 0600 "$WORK/$side.conf"
done
run() {   # run LABEL CMD...: one command, bounded, its output kept and shown as transcript lines
    local label=$1; shift
    timeout -k 5 40 "$@" > "$WORK/out" 2> "$WORK/err"; RC=$?
    echo "# \$ ($label) $*"; sed 's/^/#   out| /' "$WORK/out"; sed 's/^/#   err| /' "$WORK/err"; echo "#   exit $RC"
}
SA() { run A "$BIN" -c "$WORK/a.conf" "$@"; }
SB() { run B "$BIN" -c "$WORK/b.conf" "$@"; }
out_has() { grep -qF -- "$1" "$WORK/out"; }
err_has() { grep -qF -- "$1" "$WORK/err"; }
b_refused() {   # B's I/O through its own node: RESERVATION CONFLICT while A holds Exclusive Access
    run B dd if="$MP_B_DEV" of=/dev/null bs=512 count=1 iflag=direct
    [ "$RC" != 0 ] && err_has "Invalid exchange"
}
keys_of_a() { sg_persist -n -k "$1" 2> /dev/null | grep -c "0xbac001"; }   # A's registrations, read through $1

ITGT=iqn.2026-11.org.testbed:extra IPORTAL=127.0.0.1:3261
LUN=${MP_A_HCTL##*:} P1=$MP_A_DEV
modprobe dm_multipath 2> /dev/null; modprobe dm_round_robin 2> /dev/null
iscsiadm -m iface -I tbmA2 -o new > /dev/null 2>&1
iscsiadm -m iface -I tbmA2 -o update -n iface.initiatorname -v "$MP_A_INITIATOR" > /dev/null
iscsiadm -m discovery -t st -p "$IPORTAL" -I tbmA2 > /dev/null 2>&1
iscsiadm -m node -T "$ITGT" -p "$IPORTAL" -I tbmA2 --login > /dev/null 2>&1
P2=""
for ((i = 0; i < 250; i++)); do
    for s in /sys/class/iscsi_session/session*; do
        read -r name < "$s/ifacename" 2> /dev/null || continue
        [ "$name" = tbmA2 ] || continue
        for d in "$s"/device/target*/*:*:*:"$LUN"/block/*; do [ -e "$d" ] && P2=/dev/${d##*/}; done
    done
    [ -n "$P2" ] && [ -b "$P2" ] && sg_turs "$P2" > /dev/null 2>&1 && break
    P2=""; sleep 0.02
done
[ -n "$P2" ] && [ "$P2" != "$P1" ]; check $? "a second session of A's initiator name: the LU is $P1 and $P2 on A"
MM1=$(cat "/sys/class/block/${P1#/dev/}/dev") MM2=$(cat "/sys/class/block/${P2#/dev/}/dev" 2> /dev/null)
dmsetup create tbmp --table "0 $(blockdev --getsz "$P1") multipath 0 0 1 1 round-robin 0 2 1 $MM1 1 $MM2 1" 2> "$WORK/err"
minor=$(dmsetup info -c --noheadings -o minor tbmp 2> /dev/null | tr -d ' ')
DM=/dev/dm-$minor
[ -n "$minor" ] && [ -b "$DM" ]; check $? "dmsetup create: $DM, round-robin over $P1 ($MM1) and $P2 ($MM2), no multipathd"
echo "# $(dmsetup table tbmp)"

SA -v "$DM" lock
[ "$RC" = 0 ] && err_has "backend block: the kernel's IOC_PR_* ioctls on $DM" && ! err_has "waiting"
check $? "lock through the map: exit 0 at once, through the block backend (-v says so), no 'waiting'"
ptpl() { sg_persist -n -c "$P1" 2> /dev/null | grep -o 'PTPL_A): [01]' | tail -c 2; }
[ "$(ptpl)" = 1 ]; check $? "the kernel on its own: sd set APTPL in the REGISTER it sent through the map (PTPL_A=1; aptpl=0 here)"
[ "$(keys_of_a "$P1")" = 2 ] && [ "$(keys_of_a "$P2")" = 2 ]
check $? "sg_persist -k through each path node: A's key registered twice, once a path (REGISTER went down both)"
sg_persist -n -i -s "$MP_B_SG" > "$WORK/s.txt" 2>&1; sed 's/^/#   /' "$WORK/s.txt"
[ "$(grep -c "$MP_A_INITIATOR,i," "$WORK/s.txt")" = 2 ] && grep -q "Reservation holder" "$WORK/s.txt"
check $? "READ FULL STATUS through B: A's key through two ISIDs of A's name, one of them holding"
b_refused; check $? "B's dd iflag=direct through $MP_B_DEV: reservation conflict"
SB "$MP_B_SG" trylock
[ "$RC" = 1 ] && err_has "locked by 0xbac001 (cibou)"; check $? "B's trylock: exit 1, locked by cibou"
[ "$(ptpl)" = 0 ]; check $? "LIO: APTPL is the LU's, last REGISTER wins: B's REGISTER through SG_IO (APTPL 0) cleared it"
SA "$DM" status
[ "$RC" = 0 ] && out_has "registered=1 locked=1"; check $? "status through the map: registered=1 locked=1"
SA -v "$DM" caps
[ "$RC" = 0 ] && err_has "backend block: changes through the kernel's IOC_PR_* ioctls"
check $? "caps -v through the map says how the block backend reads"

for failed in "$MM1" "$MM2"; do
    dmsetup message tbmp 0 "fail_path $failed"; check $? "dmsetup message: fail_path $failed"
    echo "# $(dmsetup status tbmp)"
    SA "$DM" status
    [ "$RC" = 0 ] && out_has "registered=1 locked=1"; check $? "path $failed failed: status through the map still registered=1 locked=1"
    b_refused; check $? "path $failed failed: B's dd still refused"
    SA "$DM" unlock
    [ "$RC" = 0 ]; check $? "path $failed failed: unlock through the map: exit 0"
    SB "$MP_B_SG" trylock
    [ "$RC" = 0 ]; check $? "path $failed failed: B's trylock after that unlock gets the drive (it was released)"
    SB "$MP_B_SG" unlock
    SA "$DM" lock -w 10
    [ "$RC" = 0 ]; check $? "path $failed failed: lock through the map again: exit 0"
    b_refused; check $? "path $failed failed: B's dd refused again"
    SB "$MP_B_SG" trylock
    [ "$RC" = 1 ]; check $? "path $failed failed: B's trylock refused"
    dmsetup message tbmp 0 "reinstate_path $failed"
done
SA "$DM" unlock
[ "$RC" = 0 ] && [ "$(keys_of_a "$P1")" = 2 ]; check $? "unlock through the map: exit 0, A still registered on both paths"

# the map by its name, as an admin writes it: /dev/mapper/NAME (no udev in the guest: dmsetup mknodes)
dmsetup mknodes tbmp > /dev/null 2>&1
MAPPER=/dev/mapper/tbmp
SA -v "$MAPPER" lock
[ "$RC" = 0 ] && err_has "backend block"; check $? "lock through $MAPPER (the map by its name): exit 0, the block backend"
b_refused; check $? "B's dd refused while A holds through $MAPPER"
SA "$MAPPER" unlock
[ "$RC" = 0 ] && [ "$(keys_of_a "$P1")" = 2 ]; check $? "unlock through $MAPPER: exit 0, A still registered on both paths"

# the same with A's /dev/sdX and --backend block (one path)
SA --backend block -v "$P1" lock
[ "$RC" = 0 ] && err_has "backend block"; check $? "lock on $P1 with --backend block: exit 0"
b_refused; check $? "B's dd refused while A holds through $P1"
SA --backend block "$P1" status
[ "$RC" = 0 ] && out_has "locked=1"; check $? "status on $P1 (block backend): locked=1"
SA --backend block "$P1" unlock
[ "$RC" = 0 ]; check $? "unlock on $P1 (block backend): exit 0"
SB "$MP_B_SG" trylock
[ "$RC" = 0 ]; check $? "B's trylock then gets the drive"
SB "$MP_B_SG" unlock
SA --backend block "$P1" trylock
[ "$RC" = 0 ]; check $? "trylock on $P1 (block backend) after B unlocked: exit 0"
SA --backend block "$P1" unlock
SA --backend sgio "$DM" regkeys
[ "$RC" = 0 ]; check $? "--backend sgio on the map: the SCSI backend, reads work"
SA "$DM" unregister
[ "$RC" = 0 ] && [ "$(keys_of_a "$P1")" = 0 ]; check $? "unregister through the map removes every path's registration"
dmsetup remove tbmp
iscsiadm -m node -T "$ITGT" -p "$IPORTAL" -I tbmA2 --logout > /dev/null 2>&1
echo "$((n - fails)) passed, $fails failed"
[ "$fails" = 0 ]
