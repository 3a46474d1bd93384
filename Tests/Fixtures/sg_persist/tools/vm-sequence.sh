#!/bin/bash
# Test tool: runs one PR command sequence through two initiators of the test bed's LU with the program
# given as $1 (the real sg_persist, or storage-ctl's sg_persist personality), printing for each step the
# arguments, stdout, stderr and exit status. Run it in the test bed twice (fresh LU each boot) and diff:
#   run-in-vm.sh 'bash vm-sequence.sh sg_persist' > real.txt
#   run-in-vm.sh 'bash vm-sequence.sh /path/to/persist-binary' > ours.txt
# Uses $TB_A_SG / $TB_B_SG. No PREEMPT AND ABORT (it deadlocks the default tcm_loop fabric).
P=${1:?program}
A=${TB_A_SG:?} B=${TB_B_SG:?}
step() {
    local dev=$1; shift
    echo "### $* ${dev/$A/A}"
    timeout 20 "$P" "$@" "$dev" >/tmp/seq.out 2>/tmp/seq.err
    echo "[exit $?]"; echo "--stdout"; cat /tmp/seq.out; echo "--stderr"; cat /tmp/seq.err
}
step $A -c
step $A
step $A -v
step $A -o -G -S bac001
step $B -o -G -S bac999
step $A -o -R -K bac001 -T 3
step $B -o -R -K bac999 -T 3
step $B -o -R -K bac999 -T 3 -v
step $B -o -R -K bac999 -T 3 -vv
step $A -i -k
step $A -i -k -H
step $B -i -k -HH
step $B -i -r
step $B -i -r -HHH
step $A -i -s
step $B -i -s -H
step $A -i -s -vvv
step $A -o -L -K bac001 -T 1
step $A -o -L -K bac001 -T 3
step $B -i -r
step $A -o -R -K bac001 -T 5
step $B -o -P -K bac999 -S bac001 -T 6
step $A -i -k
step $A -i -k
step $B -i -s
step $A -o -I -S 123abc
step $A -o -G -K 123abc -S 456def
step $A -i -k
step $A -o -G -K 999 -S 1
step $A -o -C -K 456def
step $B -i -k
step $B -i -k -vv
step $B -i -k
step $A -o -R -K 0 -T 3
step $A -o -G -S abc -Z
step $A -c -v
step $A -o -G -K abc -S 0
step $A -c
step $A -n -k -l 10
step $A -n -s -l 20
step $A -y -o -G -S 77
step $A -i -y -k
step $A -o -G -S 1 -X sas,50014050000000b1
step $B -i -s
step $A -o -M -K 1 -S 2 -T 3 -Q 2 -X sas,50014050000000b1
step $A -o -R -K 1 -T 3
step $A -o -M -K 1 -S 2 -T 3 -Q 2 -X sas,50014050000000b1
step $B -i -s
step $A -o -z -K 1 -T 3
step $A -i -Q 5
step $A -o -A -T 3
