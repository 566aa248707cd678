#!/usr/bin/env bash
# Builds every image Containerx needs, from Debian packages and this tree,
# into the local image store: the Debian and Node bases (stand-ins for Docker
# Hub's), the minimal guest base of every arch, the Debian bases, the
# runtime and the frontend.
# Idempotent: unchanged inputs hit Docker's build cache or are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf 'containerx-setup: %s\n' "$*" >&2; }

DEBIAN_IMAGE=containerx/host-debian:bookworm
RUNTIME_DEBIAN_IMAGE=containerx/host-debian:trixie
NODE_IMAGE=containerx/node:bookworm
# Debian guest bases (debian/<arch>): each is a few minutes of TCG at first build.
DEBIAN_ARCHES="aarch64 arm riscv64 x86_64"

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
npm run --silent build

# The images with a host part (Debian, Node, the runtime, the frontend) are
# built for every host platform, foreign ones under qemu-user.
PLATFORMS=$(node dist/guest-bases/arch-table.js host-platforms | tr ' ' ,)
if ! docker info -f '{{.DriverStatus}}' | grep -q io.containerd.snapshotter; then
  PLATFORMS=$(docker version -f '{{.Server.Os}}/{{.Server.Arch}}')
  log "this Docker engine keeps one platform per image (no containerd image store): building for $PLATFORMS only"
fi
# The guest-base builders publish for the same platforms (guest-bases/publish.ts).
export CX_HOST_PLATFORMS=$PLATFORMS
bash bootstrap/debian-image.sh "$DEBIAN_IMAGE" bookworm "$PLATFORMS"
bash bootstrap/debian-image.sh "$RUNTIME_DEBIAN_IMAGE" trixie "$PLATFORMS"

# The local Node base trusts what this host trusts (its extra CAs, e.g. a
# TLS-intercepting proxy's), so npm inside image builds reaches the registry.
ca_dir=/usr/local/share/ca-certificates
ca_sum=$(cat "$ca_dir"/*.crt 2>/dev/null | sha256sum | cut -c1-12)
if [ "$(docker image inspect -f '{{index .Config.Labels "org.containerx.host-ca"}}' "$NODE_IMAGE" 2>/dev/null)" != "$ca_sum $PLATFORMS" ]; then
  log "building $NODE_IMAGE for $PLATFORMS (Debian's nodejs and npm)"
  ctx=$(mktemp -d)
  cp "$ca_dir"/*.crt "$ctx"/ 2>/dev/null || true
  bash bootstrap/build-platforms.sh "$NODE_IMAGE" "$PLATFORMS" -f - "$ctx" <<DOCKERFILE
FROM $DEBIAN_IMAGE
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY . /usr/local/share/ca-certificates/
RUN update-ca-certificates >/dev/null
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
LABEL org.containerx.host-ca="$ca_sum $PLATFORMS"
DOCKERFILE
  rm -rf "$ctx"
fi

# Minimal bases: Debian's ports and mips, plus the other arches built from
# source that CX_ARCHES asks for ("all", or names; guest-bases/arch-selection.ts).
# One base that cannot be built (seen: a mirror serving one port's index from
# another sync) leaves the others, the runtime and the frontend usable.
arches=$(node dist/guest-bases/arch-table.js selected)
unbuilt=()
for arch in $arches; do node dist/guest-bases/build-minimal.js "$arch" || unbuilt+=("minimal/$arch"); done
for arch in $DEBIAN_ARCHES; do
  if [[ " ${unbuilt[*]} " == *" minimal/$arch "* ]]; then unbuilt+=("debian/$arch"); continue; fi
  node dist/guest-bases/build-debian.js "$arch" || unbuilt+=("debian/$arch")
done

qemu_packages=$(node dist/guest-bases/arch-table.js qemu-packages)
log "building containerx/runtime for $PLATFORMS (QEMU: $qemu_packages)"
bash bootstrap/build-platforms.sh containerx/runtime:latest "$PLATFORMS" -f runtime/Dockerfile \
  --build-arg NODE_IMAGE="$NODE_IMAGE" --build-arg DEBIAN_IMAGE="$RUNTIME_DEBIAN_IMAGE" \
  --build-arg QEMU_PACKAGES="$qemu_packages" --build-arg UEFI_FIRMWARE="$(node dist/guest-bases/arch-table.js uefi-firmware)" .

log "building containerx/frontend for $PLATFORMS"
bash bootstrap/build-platforms.sh containerx/frontend:latest "$PLATFORMS" -f Dockerfile.frontend --build-arg NODE_IMAGE="$NODE_IMAGE" .
ready=()
for base in $(printf 'minimal/%s ' $arches) $(printf 'debian/%s ' $DEBIAN_ARCHES); do
  [[ " ${unbuilt[*]} " == *" $base "* ]] || ready+=("$base")
done
log "images ready: containerx/frontend, containerx/runtime; guest bases ${ready[*]}"
if [ ${#unbuilt[@]} -gt 0 ]; then
  log "NOT built: ${unbuilt[*]} (the errors are above); Cxfiles with those bases fail until a rerun of this script builds them"
fi
