#!/bin/bash
# Boot a throw-away QEMU VM (Debian 6.1 kernel, host root read-only over 9p),
# set up one LIO logical unit seen through TWO tcm_loop initiators, run
# COMMAND in it, print its output and exit with its exit status.
#
# usage: run-in-vm.sh [options] 'COMMAND'
#   Inside the guest, COMMAND runs under bash as root, in the caller's cwd,
#   with these variables set (also in /run/testbed/env):
#     TB_A_DEV TB_A_SG TB_A_HCTL TB_A_INITIATOR TB_A_TARGET TB_A_TPG
#     TB_B_DEV TB_B_SG TB_B_HCTL TB_B_INITIATOR TB_B_TARGET TB_B_TPG
#     TB_LIO_SO (configfs dir of the backstore; PR state under $TB_LIO_SO/pr)
#     TB_SERIAL TB_DBROOT   (+ TB_TAPE_* with --tape)
# options:
#   --rw DIR            make host directory DIR writable in the guest (repeatable;
#                       the rest of the host filesystem is read-only)
#   --backstore fileio|ramdisk   (default fileio on a guest tmpfs file)
#   --file PATH         fileio backing file on the host (its dir becomes rw;
#                       created sparse if missing)
#   --size MB           LU size (default 64)
#   --dbroot DIR        LIO dbroot (APTPL files go to DIR/pr) on the host (rw)
#   --aptpl-restore     re-inject DIR/pr/aptpl_<serial> at boot (like targetctl restore)
#   --fabric loop|iscsi loop (default): two tcm_loop targets/initiators (naa.);
#                       iscsi: LIO iSCSI target on the guest's 127.0.0.1 + two
#                       open-iscsi sessions (iqn.), needed for PREEMPT AND ABORT
#                       (deadlocks with tcm_loop); needs setup.sh --iscsi
#   --tape              also add a scsi_debug tape-type LU (ptype=1)
#   --kvm               try -accel kvm (does NOT boot on this PVM host; see README)
#   --timeout SEC       kill the VM after SEC seconds (default 600)
#   --mem MB / --smp N  guest memory (default 1024) / vCPUs (default 2)
#   -v                  verbose: setup info + dmesg tail on stderr
#   --keep              keep the run directory (console log, env, ...)
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${TESTBED_CACHE:-/var/cache/storage-ctl-testbed}

FABRIC=loop; RW_DIRS=(); BACKSTORE=fileio; BFILE=""; SIZE=64; DBROOT=""; APTPL_RESTORE=0; TAPE=0
ACCEL=${TESTBED_ACCEL:-tcg}; TMO=600; MEM=1024; SMP=2
VERBOSE=0; KEEP=0
while [ $# -gt 0 ]; do
    case "$1" in
        --rw) RW_DIRS+=("$(realpath -m "$2")"); shift 2 ;;
        --backstore) BACKSTORE=$2; shift 2 ;;
        --file) BFILE=$(realpath -m "$2"); shift 2 ;;
        --size) SIZE=$2; shift 2 ;;
        --dbroot) DBROOT=$(realpath -m "$2"); shift 2 ;;
        --aptpl-restore) APTPL_RESTORE=1; shift ;;
        --tape) TAPE=1; shift ;;
        --fabric) FABRIC=$2; shift 2 ;;
        --kvm) ACCEL=kvm; shift ;;
        --tcg) ACCEL=tcg; shift ;;
        --timeout) TMO=$2; shift 2 ;;
        --mem) MEM=$2; shift 2 ;;
        --smp) SMP=$2; shift 2 ;;
        -v) VERBOSE=1; shift ;;
        --keep) KEEP=1; shift ;;
        --) shift; break ;;
        -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d'; exit 0 ;;
        -*) echo "run-in-vm.sh: unknown option $1" >&2; exit 2 ;;
        *) break ;;
    esac
done
[ $# -ge 1 ] || { echo "usage: run-in-vm.sh [options] 'COMMAND'" >&2; exit 2; }
CMD="$*"

# --- kernel: newest installed Debian 6.1 kernel that ships tcm_loop ---------
KVER=${TESTBED_KVER:-}
if [ -z "$KVER" ]; then
    for k in $(ls -1 /boot/vmlinuz-6.1.* 2>/dev/null | sed 's#/boot/vmlinuz-##' | sort -V -r); do
        if [ -e "/lib/modules/$k/kernel/drivers/target/loopback/tcm_loop.ko" ]; then KVER=$k; break; fi
    done
fi
KERNEL=/boot/vmlinuz-$KVER
if [ -z "$KVER" ] || [ ! -r "$KERNEL" ] || ! command -v qemu-system-x86_64 >/dev/null \
   || ! command -v sg_persist >/dev/null || [ ! -x /bin/busybox ]; then
    echo "run-in-vm.sh: test bed not installed; run $HERE/setup.sh first" >&2; exit 2
fi

case "$FABRIC" in
    loop) ;;
    iscsi) command -v iscsiadm > /dev/null || { echo "run-in-vm.sh: --fabric iscsi needs open-iscsi (setup.sh --iscsi)" >&2; exit 2; } ;;
    *) echo "run-in-vm.sh: --fabric loop|iscsi" >&2; exit 2 ;;
esac
if [ -n "$BFILE" ]; then BACKSTORE=fileio; mkdir -p "$(dirname "$BFILE")"; RW_DIRS+=("$(dirname "$BFILE")"); fi
if [ -n "$DBROOT" ]; then mkdir -p "$DBROOT/pr"; RW_DIRS+=("$DBROOT"); fi
# de-duplicate rw dirs
if [ ${#RW_DIRS[@]} -gt 0 ]; then mapfile -t RW_DIRS < <(printf '%s\n' "${RW_DIRS[@]}" | awk '!s[$0]++'); fi
for d in "${RW_DIRS[@]}"; do
    [ -d "$d" ] || { echo "run-in-vm.sh: --rw $d: not a directory" >&2; exit 2; }
    case "$d" in *[[:space:]]*) echo "run-in-vm.sh: --rw path with spaces not supported" >&2; exit 2;; esac
done

RUN=$(mktemp -d /tmp/storage-ctl-testbed.XXXXXX)
SHARE=$RUN/share; mkdir -p "$SHARE"
cleanup() { [ "$KEEP" = 1 ] && echo "run-in-vm.sh: run dir kept: $RUN" >&2 || rm -rf "$RUN"; }
trap cleanup EXIT

printf '%s\n' "$CMD" > "$SHARE/cmd.sh"
{
    printf 'TB_CWD=%q\n' "$PWD"
    printf 'TB_PATH=%q\n' "$PATH"
    printf 'TB_BACKSTORE=%q\nTB_BACKSTORE_FILE=%q\nTB_SIZE_MB=%q\n' "$BACKSTORE" "$BFILE" "$SIZE"
    printf 'TB_DBROOT=%q\nTB_APTPL_RESTORE=%q\nTB_TAPE=%q\nTB_VERBOSE=%q\n' \
        "${DBROOT:-/run/testbed/target}" "$APTPL_RESTORE" "$TAPE" "$VERBOSE"
    printf 'TB_RW_DIRS=%q\n' "${RW_DIRS[*]:-}"
    printf 'TB_SERIAL=%q\n' "${TESTBED_SERIAL:-prtestbed0001}"
    echo "TB_FABRIC=$FABRIC"
    if [ "$FABRIC" = iscsi ]; then
        echo "TB_A_TARGET=iqn.2026-11.org.testbed:lu0"
        echo "TB_A_INITIATOR=iqn.2026-11.org.testbed:initiator-a"
        echo "TB_B_TARGET=iqn.2026-11.org.testbed:lu0"
        echo "TB_B_INITIATOR=iqn.2026-11.org.testbed:initiator-b"
    else
        echo "TB_A_TARGET=naa.50014050000000a0"
        echo "TB_A_INITIATOR=naa.50014050000000a1"
        echo "TB_B_TARGET=naa.50014050000000b0"
        echo "TB_B_INITIATOR=naa.50014050000000b1"
    fi
} > "$SHARE/settings.env"

T0=$(date +%s.%N)
INITRD=$("$HERE/mkinitramfs.sh" "$KVER" "$CACHE") || { echo "run-in-vm.sh: initramfs build failed" >&2; exit 2; }
# Boot the uncompressed vmlinux through its PVH entry (saves ~3 s of xz
# decompression under TCG); fall back to the bzImage.
BOOTK=$CACHE/vmlinux-$KVER
if [ ! -s "$BOOTK" ] || [ "$BOOTK" -ot "$KERNEL" ]; then
    /usr/bin/python3 "$HERE/extract-vmlinux.py" "$KERNEL" "$BOOTK" || rm -f "$BOOTK"
fi
[ -s "$BOOTK" ] || BOOTK=$KERNEL
if [ "$ACCEL" = kvm ]; then accel=(-accel kvm -cpu host,-arch-capabilities)
else accel=(-accel tcg,thread=multi -cpu max); fi
q=(qemu-system-x86_64 -name storage-ctl-testbed -machine q35 "${accel[@]}" -smp "$SMP" -m "$MEM"
   -nodefaults -no-user-config -display none -vga none -no-reboot
   -kernel "$BOOTK" -initrd "$INITRD"
   -append "console=ttyS0 quiet loglevel=4 panic=-1 mitigations=off nokaslr cryptomgr.notests ${TESTBED_APPEND:-}"
   -serial "file:$RUN/console.log"
   -fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap
   -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot
   -fsdev "local,id=tbshare,path=$SHARE,security_model=none,multidevs=remap"
   -device virtio-9p-pci,fsdev=tbshare,mount_tag=tbshare
   -device virtio-serial-pci
   -chardev "pipe,id=tbout,path=$RUN/stdout" -device virtserialport,chardev=tbout,name=tb.stdout
   -chardev "pipe,id=tberr,path=$RUN/stderr" -device virtserialport,chardev=tberr,name=tb.stderr)
i=0
for d in "${RW_DIRS[@]}"; do
    q+=(-fsdev "local,id=tbrw$i,path=$d,security_model=none,multidevs=remap"
        -device "virtio-9p-pci,fsdev=tbrw$i,mount_tag=tbrw$i")
    i=$((i+1))
done
[ "$VERBOSE" = 1 ] && echo "run-in-vm.sh: ${q[*]}" >&2
# Guest stdout/stderr arrive through FIFOs and are streamed by two cats.
# Gotchas: (1) chardev file,path=/proc/self/fd/1 (what virtme-ng does) writes at
# offset 0 of a redirected stdout file and clobbers it; (2) chardev pipe
# with a single FIFO makes QEMU read its own output back (lost lines), so
# use the PATH.in / PATH.out pair. We hold read-write fds on the .out FIFOs
# so the cats cannot block forever if QEMU never opens them.
mkfifo "$RUN/stdout.in" "$RUN/stdout.out" "$RUN/stderr.in" "$RUN/stderr.out"
exec 7<>"$RUN/stdout.out" 8<>"$RUN/stderr.out"
cat "$RUN/stdout.out" 7>&- 8>&- & c1=$!
cat "$RUN/stderr.out" >&2 7>&- 8>&- & c2=$!
timeout -k 5 "$TMO" "${q[@]}" < /dev/null 7>&- 8>&-
qrc=$?
exec 7>&- 8>&-
wait "$c1" "$c2"
T1=$(date +%s.%N)
[ "$VERBOSE" = 1 ] && echo "run-in-vm.sh: VM ran $(awk "BEGIN{printf \"%.1f\", $T1-$T0}") s (qemu rc $qrc)" >&2

if [ -s "$SHARE/rc" ]; then
    exit "$(cat "$SHARE/rc")"
fi
echo "run-in-vm.sh: no exit status from guest (qemu rc $qrc; 124 = timeout)." >&2
[ -s "$RUN/console.log" ] && { echo "--- last lines of guest console:" >&2; tail -n 40 "$RUN/console.log" >&2; }
exit 125
