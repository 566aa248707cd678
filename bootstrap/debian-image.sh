#!/usr/bin/env bash
# Builds containerx/host-debian:<suite> from Debian packages (debootstrap, then
# buildx from the root filesystems), the local stand-in for debian:<suite>-slim
# when Docker Hub is out of reach: one image with a manifest per host platform.
# Foreign platforms' debootstrap runs its second stage under qemu-user
# (bootstrap/host.sh registers it). Skips the work when the image already
# has every platform asked for; asked for one more, it keeps the ones it has,
# and a root filesystem debootstrapped before is reused (CX_CACHE_DIR).
# Usage: debian-image.sh IMAGE SUITE PLATFORMS   (PLATFORMS: linux/amd64,linux/arm64)
set -euo pipefail
IMAGE=$1 SUITE=$2 PLATFORMS=$3
LABEL=org.containerx.platforms
CACHE=${CX_CACHE_DIR:-/var/cache/containerx}/host-debian
kept=$(bash "$(dirname "$0")/kept-platforms.sh" "$IMAGE" "$PLATFORMS")
[ "$kept" != "$(bash "$(dirname "$0")/kept-platforms.sh" "$IMAGE" "")" ] || exit 0
PLATFORMS=$kept

mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
work=$(mktemp -d /var/tmp/containerx-debootstrap.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/context" "$CACHE"
for platform in ${PLATFORMS//,/ }; do
  arch=${platform#linux/}  # Docker's and Debian's names agree for the host platforms
  # -slim: made as below (a root filesystem cached before it was slimmed is not reused).
  tarball=$CACHE/rootfs-$SUITE-$arch-slim.tar
  if [ ! -f "$tarball" ]; then
    native=$(dpkg --print-architecture)
    echo "containerx-setup: debootstrap $SUITE $arch from $mirror (about $([ "$arch" = "$native" ] && echo 1 || echo 2) min, once)" >&2
    debootstrap --variant=minbase --arch="$arch" "$SUITE" "$work/$arch" "$mirror" >"$work/log" 2>&1 \
      || { tail -20 "$work/log" >&2; exit 1; }
    # Keep the image small and its apt usable: the same mirror, no caches.
    printf 'deb %s %s main\ndeb %s %s-updates main\n' "$mirror" "$SUITE" "$mirror" "$SUITE" >"$work/$arch/etc/apt/sources.list"
    rm -rf "$work/$arch/var/cache/apt/archives/"*.deb "$work/$arch/var/lib/apt/lists/"* "$work/$arch/dev/"*
    # Slim, as Debian's own -slim images are, for what is installed on it
    # later too: no downloaded packages kept (the runtime's QEMU install left
    # 180 MB of them), no documentation, manuals or translations.
    cat >"$work/$arch/etc/apt/apt.conf.d/containerx-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
    cat >"$work/$arch/etc/dpkg/dpkg.cfg.d/containerx-slim" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/groff/*
path-exclude /usr/share/lintian/*
DPKG
    find "$work/$arch/usr/share/doc" -type f ! -name copyright -delete
    rm -rf "$work/$arch/usr/share/man/"* "$work/$arch/usr/share/info/"* "$work/$arch/usr/share/groff/"* "$work/$arch/usr/share/lintian/"*
    find "$work/$arch/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
    tar -C "$work/$arch" --numeric-owner -cf "$tarball.part" .
    mv "$tarball.part" "$tarball"
    rm -rf "${work:?}/$arch"
  fi
  ln "$tarball" "$work/context/rootfs-$arch.tar" 2>/dev/null || cp "$tarball" "$work/context/rootfs-$arch.tar"
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
