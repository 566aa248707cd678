#!/usr/bin/env bash
# docker buildx build for several platforms into one local image (an index
# with a manifest per platform), one platform at a time.
# Why not `buildx build --platform a,b`: dockerd 26.1's built-in Dockerfile
# frontend converts the platforms concurrently and can crash the whole daemon
# ("fatal error: concurrent map iteration and map write" in llb.mergeMetadata,
# seen here; moby/buildkit#5570). So each platform is built on its own, and
# the index is put together from `docker save` and loaded back.
# Needs the TypeScript compiled (bootstrap/compile.sh, which images.sh runs first).
# Usage: build-platforms.sh IMAGE PLATFORMS [docker buildx build arguments…]
#   IMAGE with its tag; PLATFORMS comma-separated; a "-" argument (context or
#   -f) reads stdin, which is kept for every platform's build.
set -euo pipefail
image=$1 platforms=$2
shift 2
repo=${image%:*} tag=${image##*:}
work=$(mktemp -d /var/tmp/containerx-platforms.XXXXXX)
trap 'rm -rf "$work"' EXIT
stdin=/dev/null
for arg in "$@"; do
  if [ "$arg" = - ]; then stdin=$work/stdin; cat >"$stdin"; break; fi
done

parts=()
for platform in ${platforms//,/ }; do
  part=$repo:$tag-cx-${platform//\//-}
  docker buildx build -q --provenance=false --platform "$platform" -t "$part" "$@" <"$stdin" >/dev/null
  parts+=("$part")
done
if [ ${#parts[@]} = 1 ]; then
  docker tag "${parts[0]}" "$image"
  docker rmi "${parts[0]}" >/dev/null
  exit 0
fi

# The parts' manifests under one index named $image (typed code: bootstrap/platform-index.ts).
docker save "${parts[@]}" | node "$(dirname "$0")/../dist/bootstrap/platform-index.js" "$image" "$work/image.tar"
# Seen once in a CI run: the load's unpack found a parent snapshot gone ("parent
# snapshot … does not exist"), likely containerd's garbage collection of an
# image replaced a moment before; loading again went through.
for attempt in 1 2 3; do
  if err=$(docker load -q <"$work/image.tar" 2>&1 >/dev/null); then break; fi
  [ "$attempt" = 3 ] && { echo "$err" >&2; exit 1; }
  echo "containerx-setup: loading $image again after: $err" >&2
  sleep 2
done
docker rmi "${parts[@]}" >/dev/null
