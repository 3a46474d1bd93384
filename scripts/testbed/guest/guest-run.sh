#!/bin/bash
# Runs INSIDE the test-bed VM (host root mounted read-only over 9p).
# 1. loads LIO + SCSI modules, 2. builds one LIO logical unit exported through
# two tcm_loop targets (two initiators = two I_T nexuses), 3. writes
# /run/testbed/env, 4. runs the user's command, 5. reports its exit status.
#
# Invoked as PID 1 by the custom initramfs (argument --pid1); another init can
# run it as TB_SHARE=DIR bash guest-run.sh.
# Process creation is expensive under TCG (~35 ms per dynamically linked
# exec), so this script prefers bash builtins.
set -u
PID1=0; [ "${1:-}" = "--pid1" ] && PID1=1
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=dumb
SHARE=${TB_SHARE:-/run/testbed/share}
T=/sys/kernel/config/target
log() { echo "testbed: $*" >&2; }

finish() {   # $1 = exit status
    echo "$1" > "$SHARE/rc.tmp" && mv "$SHARE/rc.tmp" "$SHARE/rc"
    if [ "$PID1" = 1 ]; then
        sync
        /bin/busybox poweroff -f
        echo o > /proc/sysrq-trigger
        sleep 10
    fi
    exit "$1"
}

# settings written by run-in-vm.sh: TB_CWD TB_PATH TB_BACKSTORE TB_BACKSTORE_FILE
# TB_SIZE_MB TB_DBROOT TB_APTPL_RESTORE TB_RW_DIRS TB_TAPE TB_VERBOSE TB_SERIAL
# TB_{A,B}_{TARGET,INITIATOR}
# shellcheck disable=SC1091
. "$SHARE/settings.env" || { log "no settings"; finish 126; }

if [ "$PID1" = 1 ]; then
    echo pr-testbed > /proc/sys/kernel/hostname
    # command stdout/stderr go to the host through virtio serial ports
    for p in /sys/class/virtio-ports/*; do
        read -r name < "$p/name" || continue
        case "$name" in
            tb.stdout) exec 1>"/dev/${p##*/}" ;;
            tb.stderr) exec 2>"/dev/${p##*/}" ;;
        esac
    done
    # extra read-write host directories (9p tags tbrw0, tbrw1, ...). The mount
    # point may be missing when it lies under a guest tmpfs (/tmp, /run, ...).
    i=0
    for d in $TB_RW_DIRS; do
        [ -d "$d" ] || mkdir -p "$d"
        mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=none "tbrw$i" "$d" \
            || log "cannot mount rw dir $d"
        i=$((i+1))
    done
fi
[ -n "${TB_PATH:-}" ] && export PATH="$TB_PATH"
V=${TB_VERBOSE:-0}
vlog() { [ "$V" = 1 ] && { read -r up _ < /proc/uptime; log "[${up}s] $*"; }; return 0; }
vlog "guest-run.sh started"

setup_lio() {
    local so f size reg line side tpg tgt_var ini_var mods
    mods=(configfs target_core_mod sd_mod sg)
    [ "$TB_BACKSTORE" = fileio ] && mods+=(target_core_file)
    [ "${TB_TAPE:-0}" = 1 ] && mods+=(st)
    modprobe -a "${mods[@]}"
    [ -d "$T" ] || mount -t configfs configfs /sys/kernel/config
    # dbroot (where APTPL state is written) can only be changed before a
    # fabric module (tcm_loop) registers.
    mkdir -p "$TB_DBROOT/pr"
    echo "$TB_DBROOT" > "$T/dbroot"
    if [ "${TB_FABRIC:-loop}" = iscsi ]; then modprobe -a iscsi_target_mod iscsi_tcp; else modprobe tcm_loop; fi

    case "$TB_BACKSTORE" in
        fileio)
            so=$T/core/fileio_0/lu0
            f=${TB_BACKSTORE_FILE:-/run/testbed/lu0.img}
            if [ -e "$f" ]; then size=$(stat -c %s "$f")
            else size=$((TB_SIZE_MB * 1024 * 1024)); mkdir -p "${f%/*}"; truncate -s "$size" "$f"; fi
            mkdir -p "$so"
            echo "fd_dev_name=$f,fd_dev_size=$size,fd_buffered_io=1" > "$so/control"
            ;;
        ramdisk)
            so=$T/core/rd_mcp_0/lu0
            mkdir -p "$so"
            echo "rd_pages=$((TB_SIZE_MB * 256))" > "$so/control"
            ;;
        *) log "unknown backstore $TB_BACKSTORE"; return 1 ;;
    esac
    echo "$TB_SERIAL" > "$so/wwn/vpd_unit_serial"
    echo 1 > "$so/enable"
    # Re-inject APTPL registrations (what rtslib / targetctl restore does);
    # only possible before the LU is exported through a fabric.
    if [ "${TB_APTPL_RESTORE:-0}" = 1 ] && [ -s "$TB_DBROOT/pr/aptpl_$TB_SERIAL" ]; then
        reg=""
        while read -r line; do
            case "$line" in
                PR_REG_START:*) reg="" ;;
                PR_REG_END:*) echo "$reg" > "$so/pr/res_aptpl_metadata"; vlog "restored APTPL: $reg" ;;
                "") ;;
                *) reg="${reg:+$reg,}$line" ;;
            esac
        done < "$TB_DBROOT/pr/aptpl_$TB_SERIAL"
    fi

    if [ "${TB_FABRIC:-loop}" = iscsi ]; then
        setup_iscsi "$so"
    else
        # Two tcm_loop targets, each with its own initiator port = two I_T
        # nexuses (one SCSI host each) for the same LU.
        mkdir -p "$T/loopback/$TB_A_TARGET/tpgt_1/lun/lun_0" "$T/loopback/$TB_B_TARGET/tpgt_1/lun/lun_0"
        for side in A B; do
            tgt_var=TB_${side}_TARGET; ini_var=TB_${side}_INITIATOR
            echo "${!ini_var}" > "$T/loopback/${!tgt_var}/tpgt_1/nexus"
        done
        ln -s "$so" "$T/loopback/$TB_A_TARGET/tpgt_1/lun/lun_0/lu0"
        ln -s "$so" "$T/loopback/$TB_B_TARGET/tpgt_1/lun/lun_0/lu0"
    fi
    echo "TB_LIO_SO=$so" > /run/testbed/env.so
    if [ "${TB_TAPE:-0}" = 1 ]; then
        # Tape-like LU: scsi_debug with peripheral type 1 (sequential access);
        # single initiator, not behind LIO (LIO cannot emulate tape).
        modprobe scsi_debug ptype=1 dev_size_mb=16 max_luns=1 num_tgts=1 add_host=1
    fi
}

# LIO iSCSI target on 127.0.0.1:3260 (guest loopback only) + two open-iscsi
# sessions from two ifaces with different initiator IQNs. Unlike tcm_loop,
# iSCSI submits commands directly, so PREEMPT AND ABORT does not deadlock.
setup_iscsi() {   # $1 = backstore configfs dir
    local tpg=$T/iscsi/$TB_A_TARGET/tpgt_1 kv s
    ip link set lo up
    mkdir -p "$tpg/lun/lun_0"
    ln -s "$1" "$tpg/lun/lun_0/lu0"
    mkdir "$tpg/np/127.0.0.1:3260"
    for kv in authentication=0 generate_node_acls=1 demo_mode_write_protect=0 cache_dynamic_acls=1; do
        echo "${kv#*=}" > "$tpg/attrib/${kv%%=*}"
    done
    echo 1 > "$tpg/enable"
    mount -t tmpfs tmpfs /etc/iscsi      # open-iscsi needs a writable node/iface DB
    printf 'node.startup = manual\nnode.session.timeo.replacement_timeout = 10\n' > /etc/iscsi/iscsid.conf
    echo "InitiatorName=$TB_A_INITIATOR" > /etc/iscsi/initiatorname.iscsi
    mkdir -p /run/lock/iscsi
    iscsid
    for s in A B; do
        local ini_var=TB_${s}_INITIATOR
        iscsiadm -m iface -I "tb$s" -o new > /dev/null
        iscsiadm -m iface -I "tb$s" -o update -n iface.initiatorname -v "${!ini_var}" > /dev/null
    done
    iscsiadm -m discovery -t st -p 127.0.0.1:3260 -I tbA -I tbB > /dev/null
    iscsiadm -m node -T "$TB_A_TARGET" -p 127.0.0.1:3260 -I tbA --login > /dev/null
    iscsiadm -m node -T "$TB_A_TARGET" -p 127.0.0.1:3260 -I tbB --login > /dev/null
}

# H:C:T:L of the LU as seen through initiator $1 (A|B); sets REPLY
hctl_of() {
    local side=$1 tgt_var=TB_${1}_TARGET ini_var=TB_${1}_INITIATOR s d name addr
    REPLY=""
    if [ "${TB_FABRIC:-loop}" = iscsi ]; then
        for s in /sys/class/iscsi_session/session*; do
            read -r name < "$s/initiatorname" || continue
            [ "$name" = "${!ini_var}" ] || continue
            for d in "$s"/device/target*/[0-9]*:*:*:*; do [ -e "$d" ] && REPLY=${d##*/}; done
        done
    else
        read -r addr < "$T/loopback/${!tgt_var}/tpgt_1/address"    # host:channel:target
        REPLY=$addr:0
    fi
}

# first entry of a sysfs class dir of a SCSI device, e.g. block -> sda
dev_of() {   # $1 = H:C:T:L  $2 = block|scsi_generic|scsi_tape ; sets REPLY
    local e=(/sys/class/scsi_device/"$1"/device/"$2"/*)
    REPLY=""
    [ -e "${e[0]}" ] && REPLY=${e[0]##*/}
}

mkdir -p /run/testbed
# (subshell + set -e: errexit is ignored in functions called from a condition)
( set -e; [ "$V" = 1 ] && { PS4='+ $EPOCHREALTIME '; set -x; }; setup_lio ) > /run/testbed/setup.log 2>&1
if [ $? -ne 0 ]; then
    cat /run/testbed/setup.log >&2; log "LIO setup failed"; finish 125
fi
vlog "setup_lio done"

{
    echo "# written by guest-run.sh (source it in bash to get the devices)"
    cat /run/testbed/env.so
    echo "TB_SERIAL=$TB_SERIAL"
    echo "TB_DBROOT=$TB_DBROOT"
    echo "TB_FABRIC=${TB_FABRIC:-loop}"
} > /run/testbed/env
for side in A B; do
    tgt_var=TB_${side}_TARGET; ini_var=TB_${side}_INITIATOR
    blk=""; sg=""; hctl=""
    for ((i = 0; i < 300; i++)); do
        [ -n "$hctl" ] || { hctl_of "$side"; hctl=$REPLY; }
        dev_of "$hctl" block; blk=$REPLY
        dev_of "$hctl" scsi_generic; sg=$REPLY
        [ -n "$blk" ] && [ -n "$sg" ] && [ -b "/dev/$blk" ] && [ -c "/dev/$sg" ] && break
        sleep 0.02
    done
    if [ -z "$blk" ] || [ -z "$sg" ]; then log "device for initiator $side ($hctl) did not appear"; finish 125; fi
    {
        echo "TB_${side}_DEV=/dev/$blk"
        echo "TB_${side}_SG=/dev/$sg"
        echo "TB_${side}_HCTL=$hctl"
        echo "TB_${side}_INITIATOR=${!ini_var}"
        echo "TB_${side}_TARGET=${!tgt_var}"
        if [ "${TB_FABRIC:-loop}" = iscsi ]; then echo "TB_${side}_TPG=$T/iscsi/${!tgt_var}/tpgt_1"
        else echo "TB_${side}_TPG=$T/loopback/${!tgt_var}/tpgt_1"; fi
    } >> /run/testbed/env
done
if [ "${TB_TAPE:-0}" = 1 ]; then
    for h in /sys/class/scsi_device/*; do
        hc=${h##*/}
        read -r type < "$h/device/type"
        [ "$type" = 1 ] || continue
        for ((i = 0; i < 200; i++)); do dev_of "$hc" scsi_tape; [ -n "$REPLY" ] && break; sleep 0.02; done
        st=""; for e in "$h"/device/scsi_tape/st*; do [[ ${e##*/} =~ ^st[0-9]+$ ]] && st=${e##*/}; done
        dev_of "$hc" scsi_generic
        echo "TB_TAPE_HCTL=$hc"; echo "TB_TAPE_ST=/dev/${st:-none}"; echo "TB_TAPE_NST=/dev/n${st:-none}"
        echo "TB_TAPE_SG=/dev/$REPLY"
    done >> /run/testbed/env
fi
cp /run/testbed/env "$SHARE/env"
set -a; . /run/testbed/env; set +a
vlog "LIO ready: $(echo $(< /run/testbed/env))"

cd "${TB_CWD:-/}" 2>/dev/null || cd /
bash "$SHARE/cmd.sh" < /dev/null
rc=$?
vlog "command exited with $rc"
[ "$V" = 1 ] && dmesg | tail -n 30 >&2
finish "$rc"
