#!/usr/bin/env bash
# Cross-compiles the app for the guest with its debugging symbols (-g, no
# optimisation), as the host's gdb reads them from this copy.
set -euo pipefail
cd "$(dirname "$0")"
[ counter -nt counter.c ] || aarch64-linux-gnu-gcc -g -O0 -o counter counter.c
