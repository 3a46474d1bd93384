#!/bin/bash
# Runs INSIDE the test-bed VM, after guest-run.sh set up the first LU: adds more LIO logical
# units, each seen through two initiators (A and B), so that one boot can give every test its own
# fresh LU (generation 0, no registrations, no pending unit attentions).
#
# usage: add-lus.sh [--fabric loop|iscsi] NAME...
#   loop  (default) each LU becomes the next LUN of the two tcm_loop targets of guest-run.sh
#   iscsi each LU becomes a LUN of one LIO iSCSI target on the guest's 127.0.0.1:3261, logged in
#         from two open-iscsi ifaces with different initiator IQNs. Works in a tcm_loop boot too
#         (needs open-iscsi on the host: setup.sh --iscsi); PREEMPT AND ABORT, which deadlocks
#         tcm_loop, works on these LUs.
# Prints shell assignments for each NAME (eval them, or `. <(add-lus.sh ...)`):
#   NAME_A_SG NAME_A_DEV NAME_A_HCTL NAME_A_INITIATOR  (same for B)  NAME_SO (configfs dir)
# Exit status 0 when every LU appeared through both initiators.
set -uo pipefail
T=/sys/kernel/config/target
FABRIC=loop
[ "${1:-}" = --fabric ] && { FABRIC=$2; shift 2; }
[ $# -ge 1 ] || { echo "usage: add-lus.sh [--fabric loop|iscsi] NAME..." >&2; exit 2; }
# shellcheck disable=SC1091
. /run/testbed/env || exit 2
log() { echo "add-lus.sh: $*" >&2; }

ISCSI_TARGET=iqn.2026-11.org.testbed:extra
ISCSI_PORTAL=127.0.0.1:3261
ISCSI_A=iqn.2026-11.org.testbed:initiator-a
ISCSI_B=iqn.2026-11.org.testbed:initiator-b
SIZE=$((16 * 1024 * 1024))

new_backstore() {   # $1 = name; sets REPLY to the configfs dir
    local so=$T/core/fileio_1/$1 f=/run/testbed/$1.img
    modprobe target_core_file || return 1
    mkdir -p "$so" || return 1
    truncate -s "$SIZE" "$f" || return 1
    echo "fd_dev_name=$f,fd_dev_size=$SIZE,fd_buffered_io=1" > "$so/control" || return 1
    echo "tb$1" > "$so/wwn/vpd_unit_serial"
    echo 1 > "$so/enable" || return 1
    REPLY=$so
}

next_lun() {   # $1 = tpg dir; sets REPLY to the first free LUN number
    local n=0
    while [ -e "$1/lun/lun_$n" ]; do n=$((n + 1)); done
    REPLY=$n
}

# H:C:T:L of LUN $2 through initiator side $1 (A|B); sets REPLY ("" until it appears)
hctl_of() {
    local side=$1 lun=$2 s name d addr tgt_var=TB_${1}_TARGET
    REPLY=""
    if [ "$FABRIC" = iscsi ]; then
        local want=$ISCSI_A; [ "$side" = B ] && want=$ISCSI_B
        for s in /sys/class/iscsi_session/session*; do
            [ -r "$s/initiatorname" ] || continue
            read -r name < "$s/initiatorname"; [ "$name" = "$want" ] || continue
            read -r name < "$s/targetname"; [ "$name" = "$ISCSI_TARGET" ] || continue
            for d in "$s"/device/target*/*:*:*:"$lun"; do [ -e "$d" ] && REPLY=${d##*/}; done
        done
    else
        read -r addr < "$T/loopback/${!tgt_var}/tpgt_1/address" || return
        REPLY=$addr:$lun
    fi
}

dev_of() {   # $1 = H:C:T:L  $2 = block|scsi_generic ; sets REPLY
    local e=(/sys/class/scsi_device/"$1"/device/"$2"/*)
    REPLY=""
    [ -e "${e[0]}" ] && REPLY=${e[0]##*/}
}

iscsi_up() {   # the iSCSI target and both sessions, once
    local tpg=$T/iscsi/$ISCSI_TARGET/tpgt_1 kv s var
    [ -d "$tpg" ] && return 0
    modprobe -a iscsi_target_mod iscsi_tcp || return 1
    ip link set lo up
    mkdir -p "$tpg" || return 1
    for kv in authentication=0 generate_node_acls=1 demo_mode_write_protect=0 cache_dynamic_acls=1; do
        echo "${kv#*=}" > "$tpg/attrib/${kv%%=*}"
    done
    return 0
}

iscsi_login() {
    local tpg=$T/iscsi/$ISCSI_TARGET/tpgt_1 s var
    [ -d "$tpg/np/$ISCSI_PORTAL" ] || mkdir "$tpg/np/$ISCSI_PORTAL" || return 1
    echo 1 > "$tpg/enable"
    if ! pgrep -x iscsid > /dev/null 2>&1; then
        mountpoint -q /etc/iscsi || mount -t tmpfs tmpfs /etc/iscsi
        printf 'node.startup = manual\nnode.session.timeo.replacement_timeout = 10\n' > /etc/iscsi/iscsid.conf
        echo "InitiatorName=$ISCSI_A" > /etc/iscsi/initiatorname.iscsi
        mkdir -p /run/lock/iscsi
        iscsid || return 1
    fi
    for s in A B; do
        var=ISCSI_$s
        iscsiadm -m iface -I "tbx$s" -o new > /dev/null 2>&1
        iscsiadm -m iface -I "tbx$s" -o update -n iface.initiatorname -v "${!var}" > /dev/null || return 1
    done
    iscsiadm -m discovery -t st -p "$ISCSI_PORTAL" -I tbxA -I tbxB > /dev/null || return 1
    iscsiadm -m node -T "$ISCSI_TARGET" -p "$ISCSI_PORTAL" -I tbxA --login > /dev/null || return 1
    iscsiadm -m node -T "$ISCSI_TARGET" -p "$ISCSI_PORTAL" -I tbxB --login > /dev/null || return 1
}

names=("$@"); luns=()
case "$FABRIC" in
    loop)
        for name in "${names[@]}"; do
            new_backstore "$name" || { log "cannot create backstore $name"; exit 1; }
            so=$REPLY
            next_lun "$T/loopback/$TB_A_TARGET/tpgt_1"; lun=$REPLY
            # A first, so A's port gets relative target port identifier 1 and B's 2, as on lu0.
            for side in A B; do
                tgt_var=TB_${side}_TARGET
                mkdir -p "$T/loopback/${!tgt_var}/tpgt_1/lun/lun_$lun"
                ln -s "$so" "$T/loopback/${!tgt_var}/tpgt_1/lun/lun_$lun/$name" || { log "cannot export $name"; exit 1; }
            done
            luns+=("$lun"); eval "SO_$name=\$so"
        done
        ;;
    iscsi)
        iscsi_up || { log "iSCSI target setup failed"; exit 1; }
        tpg=$T/iscsi/$ISCSI_TARGET/tpgt_1
        for name in "${names[@]}"; do
            new_backstore "$name" || { log "cannot create backstore $name"; exit 1; }
            so=$REPLY
            next_lun "$tpg"; lun=$REPLY
            mkdir -p "$tpg/lun/lun_$lun"
            ln -s "$so" "$tpg/lun/lun_$lun/$name" || { log "cannot export $name"; exit 1; }
            luns+=("$lun"); eval "SO_$name=\$so"
        done
        if [ -d "$tpg/np/$ISCSI_PORTAL" ] && iscsiadm -m session > /dev/null 2>&1; then
            iscsiadm -m session -R > /dev/null
        else
            iscsi_login || { log "iSCSI login failed"; exit 1; }
        fi
        ;;
    *) log "--fabric loop|iscsi"; exit 2 ;;
esac

rc=0
for i in "${!names[@]}"; do
    name=${names[$i]} lun=${luns[$i]}
    so_var=SO_$name
    echo "${name}_SO=${!so_var}"
    for side in A B; do
        blk=""; sg=""; hctl=""
        for ((t = 0; t < 500; t++)); do
            [ -n "$hctl" ] || { hctl_of "$side" "$lun"; hctl=$REPLY; }
            if [ -n "$hctl" ]; then
                dev_of "$hctl" block; blk=$REPLY
                dev_of "$hctl" scsi_generic; sg=$REPLY
                [ -n "$blk" ] && [ -n "$sg" ] && [ -b "/dev/$blk" ] && [ -c "/dev/$sg" ] && break
            fi
            sleep 0.02
        done
        if [ -z "$blk" ] || [ -z "$sg" ]; then log "$name (LUN $lun) did not appear through $side"; rc=1; continue; fi
        if [ "$FABRIC" = iscsi ]; then ini_var=ISCSI_$side; else ini_var=TB_${side}_INITIATOR; fi
        echo "${name}_${side}_SG=/dev/$sg"
        echo "${name}_${side}_DEV=/dev/$blk"
        echo "${name}_${side}_HCTL=$hctl"
        echo "${name}_${side}_INITIATOR=${!ini_var}"
    done
done
exit $rc
