#!/usr/bin/env bash
# Builds the arch's runtime, the UEFI Shell disk, the image, and runs it:
#   bash examples/uefi-shell/run.sh [ARCH]    (aarch64, arm, riscv64, x86_64)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
arch=${1:-aarch64}
bash "$here/../../bootstrap/host.sh"
bash "$here/../../bootstrap/images.sh" "runtime/$arch"
bash "$here/make-disk.sh" "$arch" "$here/shell.img"
docker buildx build -f "$here/Cxfile" --build-arg ARCH="$arch" -t "uefi-shell:$arch" "$here"
set +e
docker run --rm "uefi-shell:$arch"
echo "exit=$?"
