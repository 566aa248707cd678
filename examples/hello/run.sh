#!/usr/bin/env bash
# The main job: set up this machine, build exactly what hello needs (the
# frontend and runtime for this machine's platform, and minimal/aarch64),
# build the hello app image with docker buildx build, and run it in an
# aarch64 guest with docker run.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash bootstrap/host.sh
bash bootstrap/images.sh minimal/aarch64
bash examples/hello/build-app.sh
docker buildx build -f examples/hello/Cxfile -t hello examples/hello
set +e
docker run --rm hello
echo "exit=$?"
