#!/bin/bash
# Test tool: like vm-sequence.sh, for the iSCSI fabric (run-in-vm.sh --fabric iscsi), where PREEMPT AND
# ABORT does not deadlock LIO: iSCSI TransportIDs (format 01b, ISID) and PREEMPT AND ABORT.
P=${1:?program}
A=${TB_A_SG:?} B=${TB_B_SG:?}
step() {
    local dev=$1; shift
    echo "### $* ${dev/$A/A}"
    timeout 20 "$P" "$@" "$dev" >/tmp/seq.out 2>/tmp/seq.err
    echo "[exit $?]"; echo "--stdout"; cat /tmp/seq.out; echo "--stderr"; cat /tmp/seq.err
}
step $A -o -G -S a1
step $B -o -G -S b1
step $A -o -R -K a1 -T 5
step $B -i -s
step $B -o -A -K b1 -S a1 -T 5
step $A -i -k
step $A -i -k
step $B -i -s
step $B -i -s -HH
step $A -o -I -S a2
step $A -o -G -K a2 -S a3 -Z
step $B -c
step $A -i -s -v
step $B -o -M -K b1 -S a4 -T 5 -Q 1 -X "$TB_A_INITIATOR,i,0x00023d000001"
step $B -i -s
step $A -o -C -K a3
step $B -i -r
step $B -i -r
