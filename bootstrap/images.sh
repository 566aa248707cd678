#!/usr/bin/env bash
# Builds the images Containerx needs, from Debian packages and this tree, into
# the local image store: always the frontend (and the Debian and Node images
# it is built from, stand-ins for Docker Hub's), the guest bases asked for,
# and the runtime of each of their arches (containerx/runtime:<arch>: that
# arch's QEMU over layers all arches share). Nothing else: hello needs
# `minimal/aarch64` alone.
#
# Usage: images.sh [--platforms native|all|LIST] [BASE…]
#   --platforms  the host platforms of the images: this engine's own (native,
#                the default), every one in common/host-platforms.ts (all), or
#                a comma-separated list; foreign ones build under qemu-user
#   BASE         minimal/<arch>, debian/<arch>, or `bases` for every arch of
#                CX_ARCHES (guest-bases/arch-selection.ts); a Debian base
#                brings its minimal base; runtime/<arch> an arch's runtime
#                alone, for an app that brings its own OS. No BASE: the
#                runtimes of every arch of CX_ARCHES
# Idempotent: unchanged inputs hit Docker's build cache or are skipped, so a
# second run with nothing changed builds nothing. CX_SETUP_TIMES=FILE appends
# each phase's wall time in milliseconds (bench/setup reads it).
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf 'containerx-setup: %s\n' "$*" >&2; }

platforms=native
requests=()
while [ $# -gt 0 ]; do
  case $1 in
    --platforms) platforms=${2:?--platforms needs native, all or a list}; shift 2 ;;
    --platforms=*) platforms=${1#*=}; shift ;;
    -*) log "unknown option $1 (usage: images.sh [--platforms native|all|LIST] [minimal/<arch>|debian/<arch>|bases|runtime/<arch>]…)"; exit 2 ;;
    *) requests+=("$1"); shift ;;
  esac
done

phase() { # NAME COMMAND…: runs the command (a program: a shell function would run without set -e here) and records its wall time under NAME
  local name=$1 t0 rc=0
  shift
  t0=$(date +%s%N)
  "$@" || rc=$?
  [ -z "${CX_SETUP_TIMES:-}" ] || printf '%s\t%d\n' "$name" $((($(date +%s%N) - t0) / 1000000)) >>"$CX_SETUP_TIMES"
  return $rc
}

# A build that fills the disk stops half-way with some other error: say it before starting.
# Measured by bench/setup from nothing: the main command's images and cache take
# about 5.3 GB, the whole test suite's about 24 GB.
MIN_FREE_MB=6000
CACHE_DIR=${CX_CACHE_DIR:-/var/cache/containerx}
DATA_ROOT=$(docker info -f '{{.DockerRootDir}}')
free_mb() { df -Pm "$1" | awk 'NR == 2 {print $4}'; }
mkdir -p "$CACHE_DIR"
for dir in "$DATA_ROOT" "$CACHE_DIR"; do
  if [ "$(free_mb "$dir")" -lt "$MIN_FREE_MB" ]; then
    log "only $(free_mb "$dir") MB free on the disk of $dir, under the $MIN_FREE_MB MB a setup needs to start (a first run of the main command takes about 5.3 GB, of the whole test suite about 24 GB)."
    log "  make room: docker builder prune -af; docker image prune -af; rm -rf $CACHE_DIR (downloads and built bases, fetched again when needed)"
    exit 1
  fi
done

DEBIAN_IMAGE=containerx/host-debian:trixie
NODE_IMAGE=containerx/node:trixie

phase "npm and TypeScript" bash bootstrap/compile.sh
table() { node dist/guest-bases/arch-table.js "$@"; }
# A request the table does not know stops here, with the known names.
base_list=$(table bases ${requests[@]+"${requests[@]}"})
read -ra bases <<<"$base_list"
runtime_list=$(table runtime-arches ${requests[@]+"${requests[@]}"})
read -ra runtime_arches <<<"$runtime_list"

NATIVE=$(docker version -f '{{.Server.Os}}/{{.Server.Arch}}')
case $platforms in
  native) PLATFORMS=$NATIVE ;;
  all) PLATFORMS=$(table host-platforms | tr ' ' ,) ;;
  *) PLATFORMS=$platforms ;;
esac
if [ "$PLATFORMS" != "$NATIVE" ] && ! docker info -f '{{.DriverStatus}}' | grep -q io.containerd.snapshotter; then
  log "this Docker engine keeps one platform per image (no containerd image store): building for $NATIVE only, not $PLATFORMS"
  PLATFORMS=$NATIVE
fi
# The guest-base builders publish for the same platforms (guest-bases/publish.ts).
export CX_HOST_PLATFORMS=$PLATFORMS

phase "Debian trixie image" bash bootstrap/debian-image.sh "$DEBIAN_IMAGE" trixie "$PLATFORMS"

phase "Node image" bash bootstrap/node-image.sh "$NODE_IMAGE" "$DEBIAN_IMAGE"

# One base that cannot be built (seen: a mirror serving one port's index from
# another sync) leaves the others, the runtime and the frontend usable.
unbuilt=()
for base in ${bases[@]+"${bases[@]}"}; do
  flavour=${base%/*} arch=${base#*/}
  if [ "$flavour" = debian ] && [[ " ${unbuilt[*]} " == *" minimal/$arch "* ]]; then unbuilt+=("$base"); continue; fi
  phase "$base" node "dist/guest-bases/build-$flavour.js" "$arch" || unbuilt+=("$base")
done

# An image keeps the platforms it was built for: a one-platform run after a
# multi-platform one does not drop the others (their build steps are cached).
PLATFORMS_LABEL=org.containerx.platforms
kept_platforms() { bash bootstrap/kept-platforms.sh "$1" "$PLATFORMS"; }

runtimes=()
runtime_files=$(table runtime-files)
for arch in "${runtime_arches[@]}"; do
  image=containerx/runtime:$(table runtime-tag "$arch")
  runtime_platforms=$(kept_platforms "$image")
  qemu_packages=$(table qemu-packages "$arch")
  log "building $image for $runtime_platforms (QEMU: $qemu_packages; about 1 min the first time, 2 to 3 more for a foreign platform)"
  phase "runtime image $arch" bash bootstrap/build-platforms.sh "$image" "$runtime_platforms" --target runtime \
    --label "$PLATFORMS_LABEL=$runtime_platforms" \
    --build-arg NODE_IMAGE="$NODE_IMAGE" --build-arg DEBIAN_IMAGE="$DEBIAN_IMAGE" \
    --build-arg QEMU_PACKAGES="$qemu_packages" --build-arg QEMU_FILES="$(table qemu-files "$arch")" \
    --build-arg RUNTIME_FILES="$runtime_files" --build-arg UEFI_FIRMWARE="$(table uefi-firmware "$arch")" .
  runtimes+=("$image")
done

frontend_platforms=$(kept_platforms containerx/frontend:latest)
log "building containerx/frontend for $frontend_platforms"
phase "frontend image" bash bootstrap/build-platforms.sh containerx/frontend:latest "$frontend_platforms" --target frontend \
  --label "$PLATFORMS_LABEL=$frontend_platforms" \
  --build-arg NODE_IMAGE="$NODE_IMAGE" --build-arg DEBIAN_IMAGE="$DEBIAN_IMAGE" .
ready=()
for base in ${bases[@]+"${bases[@]}"}; do
  [[ " ${unbuilt[*]} " == *" $base "* ]] || ready+=("$base")
done
log "images ready for $PLATFORMS: containerx/frontend, ${runtimes[*]}${ready[*]:+; guest bases ${ready[*]}}"
log "disk: $(free_mb "$DATA_ROOT") MB free for Docker's data root $DATA_ROOT; the cache $CACHE_DIR holds $(du -sm "$CACHE_DIR" | cut -f1) MB"
if [ ${#unbuilt[@]} -gt 0 ]; then
  log "NOT built: ${unbuilt[*]} (the errors are above); Cxfiles with those bases fail until a rerun of this script builds them"
fi
