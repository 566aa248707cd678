#!/usr/bin/env bash
# The test command: unit tests, then the end-to-end suite against the real
# dockerd, BuildKit and QEMU, setting up first whatever the selected tests
# need and is missing (test/e2e/needs.ts says what each file needs).
#   npm test                     every test
#   npm test -- hello registry   the unit tests and those end-to-end files
# CX_ENGINE=docker-20.10 runs it against Debian 12's Docker 20.10 instead of
# the main engine (Docker 26 with the containerd image store).
set -euo pipefail
cd "$(dirname "$0")/.."
# Compiled first: needs.js says which host packages the selected files drive, and host.sh installs them with the rest.
bash bootstrap/compile.sh
packages=$(node dist/test/e2e/needs.js packages "$@")
# shellcheck disable=SC2086
bash bootstrap/host.sh $packages
case ${CX_ENGINE:-} in
  "") ;;
  docker-20.10) DOCKER_HOST=$(bash bootstrap/engine-20.10.sh); export DOCKER_HOST ;;
  *) echo "CX_ENGINE: unknown engine '$CX_ENGINE' (known: docker-20.10; unset for the main engine)" >&2; exit 2 ;;
esac
# What earlier runs left behind goes first, or a machine that runs the suite
# again and again runs out of disk (test/e2e/leftovers.ts).
node dist/test/e2e/leftovers.js
# Word lists without spaces (paths under dist/; images.sh arguments, a line per run).
files=$(node dist/test/e2e/needs.js files "$@")
images=$(node dist/test/e2e/needs.js images "$@")
while read -r run; do
  # shellcheck disable=SC2086
  bash bootstrap/images.sh $run </dev/null
done <<<"$images"
bash examples/hello/build-app.sh
# shellcheck disable=SC2086
node --test --test-concurrency=1 dist/test/unit/ $files
