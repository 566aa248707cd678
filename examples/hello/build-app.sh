#!/usr/bin/env bash
# Cross-compiles the example app for the guest (a static aarch64 binary).
set -euo pipefail
cd "$(dirname "$0")"
[ hello -nt hello.c ] || aarch64-linux-gnu-gcc -static -O2 -o hello hello.c
