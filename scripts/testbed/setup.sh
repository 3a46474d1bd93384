#!/bin/bash
# Install / prepare everything storage-ctl's PR test bed needs (Debian 12).
# Idempotent; a no-op (well under a second) when everything is already there.
#   setup.sh              core packages + boot artefacts (initramfs, vmlinux)
#   setup.sh --iscsi      + open-iscsi (for run-in-vm.sh --fabric iscsi)
#   setup.sh --check      + boot the VM once and run a PR smoke test
# Boot artefacts go to $TESTBED_CACHE (default /var/cache/storage-ctl-testbed).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${TESTBED_CACHE:-/var/cache/storage-ctl-testbed}
CHECK=0; ISCSI=0
for a in "$@"; do
    case "$a" in
        --check) CHECK=1 ;; --iscsi) ISCSI=1 ;;
        *) echo "usage: setup.sh [--iscsi] [--check]" >&2; exit 2 ;;
    esac
done

# qemu-system-x86: the VM; linux-image-amd64: Debian 6.1 kernel whose modules
# include LIO (target_core_*, tcm_loop) + sd_mod/sg/st/scsi_debug; sg3-utils:
# sg_persist & co; busybox-static: initramfs; kmod/cpio/file: initramfs build.
# xz-utils/zstd: compressed kernel payloads and modules.
PKGS=(qemu-system-x86 linux-image-amd64 sg3-utils lsscsi busybox-static kmod cpio file python3 xz-utils zstd)
# dmsetup: the dm-multipath map of the integration suite's multipath phase (over two iSCSI sessions)
[ "$ISCSI" = 1 ] && PKGS+=(open-iscsi iproute2 dmsetup)

missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # A fresh machine has no package lists (or stale ones): refresh them first.
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Boot artefacts for the newest installed 6.1 kernel that has tcm_loop.
KVER=""
for k in $(ls -1 /boot/vmlinuz-6.1.* 2>/dev/null | sed 's#/boot/vmlinuz-##' | sort -V -r); do
    [ -e "/lib/modules/$k/kernel/drivers/target/loopback/tcm_loop.ko" ] && { KVER=$k; break; }
done
[ -n "$KVER" ] || { echo "setup.sh: no 6.1 kernel with tcm_loop found" >&2; exit 1; }
"$HERE/mkinitramfs.sh" "$KVER" "$CACHE" > /dev/null
if [ ! -s "$CACHE/vmlinux-$KVER" ] || [ "$CACHE/vmlinux-$KVER" -ot "/boot/vmlinuz-$KVER" ]; then
    /usr/bin/python3 "$HERE/extract-vmlinux.py" "/boot/vmlinuz-$KVER" "$CACHE/vmlinux-$KVER"
fi
echo "setup.sh: ready (kernel $KVER, cache $CACHE)"

if [ "$CHECK" = 1 ]; then
    "$HERE/run-in-vm.sh" 'sg_persist -n --out --register --param-sark=0x1 $TB_A_SG &&
        sg_persist -n --out --reserve --param-rk=0x1 --prout-type=3 $TB_A_SG &&
        ! dd if=$TB_B_DEV of=/dev/null count=1 iflag=direct 2>/dev/null &&
        echo "setup.sh --check: OK (reservation conflict seen through initiator B)"'
fi
