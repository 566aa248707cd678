#!/usr/bin/env bash
# Builds containerx/host-debian:<suite> from Debian packages (debootstrap + docker
# import), the local stand-in for debian:<suite>-slim when Docker Hub is out of
# reach. Skips the work when the image already exists.
# Usage: debian-image.sh IMAGE [SUITE]   (SUITE: bookworm, the default, or trixie)
set -euo pipefail
IMAGE=${1:-containerx/host-debian:bookworm}
SUITE=${2:-bookworm}
if docker image inspect "$IMAGE" >/dev/null 2>&1; then exit 0; fi

mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
work=$(mktemp -d /var/tmp/containerx-debootstrap.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "containerx-setup: debootstrap $SUITE from $mirror (a few minutes, once)" >&2
debootstrap --variant=minbase "$SUITE" "$work/root" "$mirror" >"$work/log" 2>&1 \
  || { tail -20 "$work/log" >&2; exit 1; }
# Keep the image small and its apt usable: the same mirror, no caches.
printf 'deb %s %s main\ndeb %s %s-updates main\n' "$mirror" "$SUITE" "$mirror" "$SUITE" >"$work/root/etc/apt/sources.list"
rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"*
tar -C "$work/root" --numeric-owner -c . | docker import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'CMD ["bash"]' - "$IMAGE" >/dev/null
echo "containerx-setup: built $IMAGE" >&2
