#!/usr/bin/env bash
# Builds containerx/host-debian:<suite> from Debian packages (debootstrap, then
# buildx from the root filesystems), the local stand-in for debian:<suite>-slim
# when Docker Hub is out of reach: one image with a manifest per host platform.
# Foreign platforms' debootstrap runs its second stage under qemu-user
# (bootstrap/host.sh registers it). Skips the work when the image already
# exists for those platforms.
# Usage: debian-image.sh IMAGE SUITE PLATFORMS   (PLATFORMS: linux/amd64,linux/arm64)
set -euo pipefail
IMAGE=$1 SUITE=$2 PLATFORMS=$3
LABEL=org.containerx.platforms
if [ "$(docker image inspect -f "{{index .Config.Labels \"$LABEL\"}}" "$IMAGE" 2>/dev/null)" = "$PLATFORMS" ]; then exit 0; fi

mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
work=$(mktemp -d /var/tmp/containerx-debootstrap.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/context"
for platform in ${PLATFORMS//,/ }; do
  arch=${platform#linux/}  # Docker's and Debian's names agree for the host platforms
  echo "containerx-setup: debootstrap $SUITE $arch from $mirror (a few minutes, once)" >&2
  debootstrap --variant=minbase --arch="$arch" "$SUITE" "$work/$arch" "$mirror" >"$work/log" 2>&1 \
    || { tail -20 "$work/log" >&2; exit 1; }
  # Keep the image small and its apt usable: the same mirror, no caches.
  printf 'deb %s %s main\ndeb %s %s-updates main\n' "$mirror" "$SUITE" "$mirror" "$SUITE" >"$work/$arch/etc/apt/sources.list"
  rm -rf "$work/$arch/var/cache/apt/archives/"*.deb "$work/$arch/var/lib/apt/lists/"* "$work/$arch/dev/"*
  tar -C "$work/$arch" --numeric-owner -cf "$work/context/rootfs-$arch.tar" .
  rm -rf "${work:?}/$arch"
done
cat >"$work/context/Dockerfile" <<DOCKERFILE
FROM scratch
ARG TARGETARCH
ADD rootfs-\${TARGETARCH}.tar /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LABEL $LABEL=$PLATFORMS
CMD ["bash"]
DOCKERFILE
bash "$(dirname "$0")/build-platforms.sh" "$IMAGE" "$PLATFORMS" "$work/context"
echo "containerx-setup: built $IMAGE for $PLATFORMS" >&2
