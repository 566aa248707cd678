#!/usr/bin/env bash
# Builds Containerx's images (bootstrap/images.sh) for every host platform and
# pushes the ones users build from to a registry, so a team can mirror them:
# the frontend, the guest bases asked for (all of CX_ARCHES by default) and
# the runtimes of their arches.
# Cxfiles then name them there:
#   # syntax=REGISTRY/PATH/frontend         (first line of the Cxfile)
#   docker buildx build --build-arg CX_IMAGE_PREFIX=REGISTRY/PATH/ …
# Usage: publish.sh REGISTRY/PATH [BASE…]   (for example 127.0.0.1:5000/containerx minimal/aarch64;
#        BASE as images.sh takes it, `bases` when none is named)
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf 'containerx-publish: %s\n' "$*" >&2; }
prefix=${1:?usage: publish.sh REGISTRY/PATH, for example 127.0.0.1:5000/containerx}
prefix=${prefix%/}
shift
[ $# -gt 0 ] || set -- bases

bash bootstrap/images.sh --platforms all "$@"
images=(containerx/frontend:latest)
for arch in $(node dist/guest-bases/arch-table.js runtime-arches "$@"); do
  images+=("containerx/runtime:$(node dist/guest-bases/arch-table.js runtime-tag "$arch")")
done
for base in $(node dist/guest-bases/arch-table.js bases "$@"); do
  image=containerx/${base%/*}:${base#*/}
  # A base the mirror caught mid-sync kept from being built is not there to push (images.sh named it).
  if docker image inspect "$image" >/dev/null 2>&1; then images+=("$image"); fi
done
for image in "${images[@]}"; do
  target=$prefix/${image#containerx/}
  docker tag "$image" "$target"
  # dockerd 26 pushes a multi-platform image's manifests to the tag side by
  # side, and Debian's docker-registry 2.8 can read a tag mid-write (HTTP 500):
  # the content is there by then, so a second push completes it.
  docker push -q "$target" >/dev/null || docker push -q "$target" >/dev/null
  # The alias was only the push's name for it: the local store keeps one name per image.
  docker rmi "$target" >/dev/null
  log "pushed $target"
done
log "published ${#images[@]} images; Cxfiles use them with '# syntax=$prefix/frontend' and --build-arg CX_IMAGE_PREFIX=$prefix/"
