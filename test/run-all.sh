#!/usr/bin/env bash
# The test command: unit tests, then the end-to-end suite against the real
# dockerd, BuildKit and QEMU (setting up whatever is missing first).
# CX_ENGINE=docker-20.10 runs it against Debian 12's Docker 20.10 instead of
# the main engine (Docker 26 with the containerd image store).
set -euo pipefail
cd "$(dirname "$0")/.."
bash bootstrap/host.sh
case ${CX_ENGINE:-} in
  "") ;;
  docker-20.10) DOCKER_HOST=$(bash bootstrap/engine-20.10.sh); export DOCKER_HOST ;;
  *) echo "CX_ENGINE: unknown engine '$CX_ENGINE' (known: docker-20.10; unset for the main engine)" >&2; exit 2 ;;
esac
bash bootstrap/images.sh
bash examples/hello/build-app.sh
node --test --test-concurrency=1 dist/test/unit/ dist/test/e2e/
