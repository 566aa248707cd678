#!/bin/sh
# Runtime image build step: installs Debian's UEFI firmware packages and
# writes each guest arch's flash images as qcow2 into OUT/<arch>/code.qcow2
# and vars.qcow2. Debian's raw images are padded to the flash size (64 MiB
# each on Arm), which qcow2 stores as nothing.
# usage: uefi-firmware.sh OUT arch:package:code:vars…  (from arch-table.js uefi-firmware)
set -eu
out=$1; shift
mkdir -p "$out"
# An arch with no UEFI firmware (mips, ppc64 …): an empty directory for the runtime to copy.
[ $# -gt 0 ] || exit 0
packages=$(for entry in "$@"; do echo "$entry" | cut -d: -f2; done | sort -u)
apt-get update -qq
# shellcheck disable=SC2086 # one word per package
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-utils $packages >/dev/null
for entry in "$@"; do
  arch=$(echo "$entry" | cut -d: -f1)
  code=$(echo "$entry" | cut -d: -f3)
  vars=$(echo "$entry" | cut -d: -f4)
  mkdir -p "$out/$arch"
  qemu-img convert -f raw -O qcow2 "$code" "$out/$arch/code.qcow2"
  qemu-img convert -f raw -O qcow2 "$vars" "$out/$arch/vars.qcow2"
done
