#!/usr/bin/env bash
# Makes a bootable UEFI disk that holds no Linux at all: a GPT disk whose EFI
# system partition carries the UEFI Shell (Debian's efi-shell-<arch>
# package) as the removable-media boot loader, and a startup.nsh script the
# shell runs on its own.
# usage: make-disk.sh ARCH OUT.img [STARTUP.nsh]   (ARCH: aarch64, arm, riscv64, x86_64)
set -euo pipefail
arch=${1:?usage: make-disk.sh ARCH OUT.img [STARTUP.nsh]}
out=${2:?usage: make-disk.sh ARCH OUT.img [STARTUP.nsh]}
startup=${3:-$(dirname "$0")/startup.nsh}

# UEFI's own names: the shell package's suffix and the removable-media loader path.
case $arch in
  aarch64) efi=aa64 loader=BOOTAA64.EFI ;;
  arm) efi=arm loader=BOOTARM.EFI ;;
  riscv64) efi=riscv64 loader=BOOTRISCV64.EFI ;;
  x86_64) efi=x64 loader=BOOTX64.EFI ;;
  *) echo "make-disk.sh: no UEFI shell for arch '$arch'" >&2; exit 2 ;;
esac
for tool in sfdisk mkfs.vfat mcopy apt-get; do
  command -v "$tool" >/dev/null || { echo "make-disk.sh: needs $tool (apt-get install fdisk dosfstools mtools)" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The package is architecture-independent; trixie has it (bootstrap/host.sh adds trixie's source).
(cd "$work" && apt-get download -qq "efi-shell-$efi/trixie" 2>/dev/null || apt-get download -qq "efi-shell-$efi")
dpkg-deb -x "$work"/efi-shell-"$efi"_*.deb "$work/pkg"

esp="$work/esp.img"
truncate -s 32M "$esp"
mkfs.vfat -F 16 -n CXESP "$esp" >/dev/null
mmd -i "$esp" ::/EFI ::/EFI/BOOT
mcopy -i "$esp" "$work/pkg/usr/share/efi-shell-$efi/shell$efi.efi" "::/EFI/BOOT/$loader"
mcopy -i "$esp" "$startup" ::/startup.nsh

# GPT: one EFI system partition from 1 MiB, the ESP image written into it.
truncate -s 40M "$out"
printf 'label: gpt\nstart=2048, size=%d, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI system"\n' $((32 * 2048)) | sfdisk -q "$out"
dd if="$esp" of="$out" bs=1M seek=1 conv=notrunc status=none
echo "make-disk.sh: $out: UEFI shell for $arch ($loader) with $(basename "$startup")"
