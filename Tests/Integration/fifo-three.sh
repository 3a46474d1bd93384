#!/bin/bash
# fairness=fifo with three hosts on the LIO test bed. Runs in the guest; usage:
#   fifo-three.sh STORAGE_CTL WORKDIR   (with FF_A_SG FF_A_DEV FF_A_HCTL FF_B_SG FF_B_DEV: an iSCSI LU of
#                                        add-lus.sh of its own, A and B its two hosts' nodes)
# A third host, C, is a third initiator name (iqn.2026-11.org.testbed:initiator-c) logged into the same
# iSCSI target through an open-iscsi iface of its own. Each host has its own configuration: fairness=fifo,
# its own key (bac001, bac002, bac003), its own run_dir, a short backoff. In each trial, for each of the
# six arrival orders (every host first twice): X locks; Y starts a `lock`, and only once the holder's
# `status` shows Y waiting in line does Z start its `lock`; once status shows both, in that order, X
# unlocks. Y's lock must return first (while Z's still waits), wholocked names Y, and a real read
# (`dd iflag=direct`) through X's and Z's nodes is refused (RESERVATION CONFLICT: LIO lets every session
# of the holder's own initiator name through, so only other names prove it); then Y unlocks, Z gets the
# drive, Z unlocks. Ends with no reservation and no ticket keys left, and C logged out.
# Prints "ok N - ..." / "not ok N - ..." lines, "# ..." transcript lines, and "P passed, F failed".
set -u
BIN=$1 WORK=$2
n=0 fails=0 RC=0
check() {   # check STATUS DESCRIPTION; returns STATUS
    n=$((n + 1))
    if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi
    return "$1"
}
mkdir -p "$WORK" && chmod 0700 "$WORK"
declare -A KEY=([a]=bac001 [b]=bac002 [c]=bac003) NAME=([a]=cibou [b]=dir [c]=vault)
for h in a b c; do
    mkdir -p "$WORK/run-$h" && chmod 0700 "$WORK/run-$h"
    {
        printf 'key=%s\nhost_bac001=cibou\nhost_bac002=dir\nhost_bac003=vault\n' "${KEY[$h]}"
        printf 'fairness=fifo\nlock_retry_initial=0.05\nlock_retry_max=0.3\nmax_lock_wait=60\n'
        printf 'run_dir=%s\ndebug_log=1\ndebug_file=%s\n' "$WORK/run-$h" "$WORK/debug-$h.log"
    } > "$WORK/$h.conf"
    chmod 0600 "$WORK/$h.conf"
done
run() {   # run LABEL CMD...: one command, bounded, its output kept and shown as transcript lines
    local label=$1; shift
    timeout -k 5 40 "$@" > "$WORK/out" 2> "$WORK/err"; RC=$?
    echo "# \$ ($label) $*"; sed 's/^/#   out| /' "$WORK/out"; sed 's/^/#   err| /' "$WORK/err"; echo "#   exit $RC"
}
S() { local h=$1; shift; run "$h" "$BIN" -c "$WORK/$h.conf" "$@"; }
out_has() { grep -qF -- "$1" "$WORK/out"; }
err_has() { grep -qF -- "$1" "$WORK/err"; }
refused() {   # refused HOST: a real read through HOST's own block node fails with a reservation conflict
    run "$1" dd if="${DEV[$1]}" of=/dev/null bs=512 count=1 iflag=direct
    [ "$RC" != 0 ] && err_has "Invalid exchange"
}

# ---- C: a third initiator name, one more open-iscsi iface logged into the extra target ----------------
ITGT=iqn.2026-11.org.testbed:extra IPORTAL=127.0.0.1:3261 INAME_C=iqn.2026-11.org.testbed:initiator-c
LUN=${FF_A_HCTL##*:}
iscsiadm -m iface -I tbfC -o new > /dev/null 2>&1
iscsiadm -m iface -I tbfC -o update -n iface.initiatorname -v "$INAME_C" > /dev/null
timeout -k 5 30 iscsiadm -m discovery -t st -p "$IPORTAL" -I tbfC > /dev/null 2>&1
timeout -k 5 30 iscsiadm -m node -T "$ITGT" -p "$IPORTAL" -I tbfC --login > /dev/null 2>&1
C_SG="" C_DEV=""
for ((i = 0; i < 250; i++)); do
    for s in /sys/class/iscsi_session/session*; do
        read -r name < "$s/ifacename" 2> /dev/null || continue
        [ "$name" = tbfC ] || continue
        for d in "$s"/device/target*/*:*:*:"$LUN"/scsi_generic/*; do [ -e "$d" ] && C_SG=/dev/${d##*/}; done
        for d in "$s"/device/target*/*:*:*:"$LUN"/block/*; do [ -e "$d" ] && C_DEV=/dev/${d##*/}; done
    done
    [ -n "$C_SG" ] && [ -c "$C_SG" ] && [ -b "$C_DEV" ] && timeout -k 2 10 sg_turs "$C_SG" > /dev/null 2>&1 && break
    C_SG="" C_DEV=""; sleep 0.02
done
for ((i = 0; i < 5; i++)); do timeout -k 2 10 sg_turs "$C_SG" > /dev/null 2>&1 && break; done
declare -A SG=([a]=$FF_A_SG [b]=$FF_B_SG [c]=$C_SG) DEV=([a]=$FF_A_DEV [b]=$FF_B_DEV [c]=$C_DEV)
echo "# hosts: a ${SG[a]} ${DEV[a]}, b ${SG[b]} ${DEV[b]}, c ${SG[c]} ${DEV[c]} (iface tbfC, $INAME_C)"
[ -n "$C_SG" ] && [ -n "$C_DEV" ]; check $? "a third host: initiator name $INAME_C logged in (iface tbfC), the LU is $C_SG / $C_DEV"
if [ -z "$C_SG" ]; then
    echo "$((n - fails)) passed, $fails failed"; exit 1
fi
run c sg_persist -n -i -s "$C_SG"
[ "$RC" = 0 ] && out_has "No full status descriptors"; check $? "READ FULL STATUS through C: a fresh LU, nobody registered"

# ---- the trials ------------------------------------------------------------------------------------
# waiters HOST: the `waiters=` field of HOST's status ("" when nobody waits); polled, so not in the transcript
waiters() {
    local line
    line=$(timeout -k 2 10 "$BIN" -c "$WORK/$1.conf" "${SG[$1]}" status 2> /dev/null) || { REPLY="?"; return; }
    REPLY=""
    [[ $line =~ \ waiters=([^ ]*) ]] && REPLY=${BASH_REMATCH[1]}
    LAST_STATUS=$line
}
await_waiters() {   # await_waiters HOST WANT: polls HOST's status until waiters=WANT (20 s at most)
    local t_end=$((SECONDS + 20)) polls=0
    while :; do
        waiters "$1"; polls=$((polls + 1))
        [ "$REPLY" = "$2" ] && break
        [ "$SECONDS" -ge "$t_end" ] && { echo "#   ($1 status, $polls polls) $LAST_STATUS  -- gave up waiting for waiters=$2"; return 1; }
        sleep 0.05
    done
    echo "# ($1 status, $polls polls) $LAST_STATUS"
}
start_lock() {   # start_lock HOST: a `lock` of HOST in the background; its exit status goes to $WORK/rc-HOST
    rm -f "$WORK/rc-$1"
    ( timeout -k 5 90 "$BIN" -c "$WORK/$1.conf" "${SG[$1]}" lock > "$WORK/lock-$1.out" 2> "$WORK/lock-$1.err"
      echo $? > "$WORK/rc-$1.tmp"; mv "$WORK/rc-$1.tmp" "$WORK/rc-$1" ) &
    PID[$1]=$!
}
first_done() {   # first_done HOST...: waits (60 s at most) until one of the background locks ended; REPLY = it
    local t_end=$((SECONDS + 60)) h
    REPLY=""
    while [ "$SECONDS" -lt "$t_end" ]; do
        for h in "$@"; do [ -e "$WORK/rc-$h" ] && { REPLY=$h; return 0; }; done
        sleep 0.02
    done
    return 1
}
lock_result() {   # lock_result HOST: transcript of a background lock that ended; RC = its exit status
    wait "${PID[$1]}" 2> /dev/null
    read -r RC < "$WORK/rc-$1" 2> /dev/null || RC=x
    echo "# \$ ($1, in the background) $BIN -c $WORK/$1.conf ${SG[$1]} lock"
    sed 's/^/#   err| /' "$WORK/lock-$1.err"; echo "#   exit $RC"
}
declare -A PID=()
in_order=0 trials=0
for order in abc bca cab acb bac cba; do
    X=${order:0:1} Y=${order:1:1} Z=${order:2:1}
    KX=0x${KEY[$X]} KY=0x${KEY[$Y]} KZ=0x${KEY[$Z]}
    trials=$((trials + 1)); t="trial $trials ($X holds, then $Y, then $Z)"
    echo "# ---- $t"
    ok=1
    S "$X" "${SG[$X]}" lock -w 10
    [ "$RC" = 0 ]; check $? "$t: $X locks: exit 0" || ok=0
    start_lock "$Y"
    await_waiters "$X" "$KY"; check $? "$t: $Y's lock waits in line: $X's status shows waiters=$KY (polled before $Z starts)" || ok=0
    start_lock "$Z"
    await_waiters "$X" "$KY,$KZ"; check $? "$t: $Z's lock waits behind it: waiters=$KY,$KZ, in arrival order" || ok=0
    run "$X" sg_persist -n -i -k "${SG[$X]}"
    [ "$(grep -c '0xf1' "$WORK/out")" = 2 ] && out_has "$KX"
    check $? "$t: sg_persist -k: $X's key and two ticket keys (0xf1...)" || ok=0
    refused "$Y" && refused "$Z"; check $? "$t: dd iflag=direct through $Y's and $Z's nodes while $X holds: reservation conflict" || ok=0
    S "$X" "${SG[$X]}" unlock
    [ "$RC" = 0 ]; check $? "$t: $X unlocks: exit 0" || ok=0
    first_done "$Y" "$Z"; first=$REPLY
    [ -e "$WORK/rc-$Z" ]; z_ended=$?   # read at once: Z's lock must still be waiting
    [ -n "$first" ] && lock_result "$first"
    [ "$first" = "$Y" ] && [ "$RC" = 0 ] && [ "$z_ended" = 1 ] && grep -q "lock acquired after waiting" "$WORK/lock-$Y.err"
    check $? "$t: $Y's lock returns first, exit 0, while $Z's still waits (first to end: ${first:-none})" || ok=0
    S "$X" "${SG[$X]}" wholocked
    [ "$RC" = 0 ] && [ "$(cat "$WORK/out")" = "$KY" ]; check $? "$t: wholocked: $KY" || ok=0
    S "$X" "${SG[$X]}" status
    [ "$RC" = 0 ] && out_has "blockedby=$KY" && out_has " waiters=$KZ"; check $? "$t: $X's status: blocked by $KY, waiters=$KZ" || ok=0
    refused "$X" && refused "$Z"; check $? "$t: dd iflag=direct through $X's and $Z's nodes while $Y holds: reservation conflict" || ok=0
    run "$Y" dd if="${DEV[$Y]}" of=/dev/null bs=512 count=1 iflag=direct
    [ "$RC" = 0 ]; check $? "$t: dd iflag=direct through $Y's node, the holder's: works" || ok=0
    # whoever holds now lets go, so that the other background lock (if any) can end
    holder=${first:-$Y} other=$Z; [ "$holder" = "$Z" ] && other=$Y
    S "$holder" "${SG[$holder]}" unlock
    [ "$RC" = 0 ]; check $? "$t: $holder unlocks: exit 0" || ok=0
    first_done "$other"; lock_result "$other"
    [ "$other" = "$Z" ] && [ "$RC" = 0 ]; check $? "$t: then $Z's lock returns, exit 0" || ok=0
    S "$X" "${SG[$X]}" wholocked
    [ "$RC" = 0 ] && [ "$(cat "$WORK/out")" = "$KZ" ]; check $? "$t: wholocked: $KZ" || ok=0
    refused "$X" && refused "$Y"; check $? "$t: dd iflag=direct through $X's and $Y's nodes while $Z holds: reservation conflict" || ok=0
    S "$other" "${SG[$other]}" unlock
    [ "$RC" = 0 ]; check $? "$t: $other unlocks: exit 0" || ok=0
    run "$X" sg_persist -n -i -k "${SG[$X]}"
    [ "$RC" = 0 ] && ! grep -q '0xf1' "$WORK/out"; check $? "$t: no ticket key left (sg_persist -k)" || ok=0
    for h in a b c; do   # nothing of this trial may linger into the next (only after a failure): SIGTERM to the lock
        [ -n "${PID[$h]:-}" ] && kill -0 "${PID[$h]}" 2> /dev/null || continue
        for child in $(pgrep -P "${PID[$h]}"); do kill "$child"; done
        wait "${PID[$h]}" 2> /dev/null
    done
    [ "$ok" = 1 ] && in_order=$((in_order + 1))
done
check $([ "$in_order" = "$trials" ]; echo $?) "fifo on LIO: $in_order of $trials trials served three hosts in arrival order"
echo "# fifo-three: $in_order of $trials trials in arrival order"

run a sg_persist -n -i -r "${SG[a]}"
[ "$RC" = 0 ] && out_has "there is NO reservation held"; check $? "after the trials: no reservation"
for h in a b c; do S "$h" "${SG[$h]}" unregister; done
run a sg_persist -n -i -k "${SG[a]}"
[ "$RC" = 0 ] && out_has "there are NO registered reservation keys"; check $? "after unregister by each host: no keys left"
timeout -k 5 30 iscsiadm -m node -T "$ITGT" -p "$IPORTAL" -I tbfC --logout > /dev/null 2>&1
check $? "C's session logged out"
echo "$((n - fails)) passed, $fails failed"
[ "$fails" = 0 ]
