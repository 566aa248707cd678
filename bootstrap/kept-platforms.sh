#!/usr/bin/env bash
# The host platforms to build IMAGE for: PLATFORMS and those the image has now
# (its org.containerx.platforms label), sorted and comma-separated, so a
# one-platform run after a multi-platform one drops none.
# Usage: kept-platforms.sh IMAGE PLATFORMS   (PLATFORMS may be empty: the image's own)
set -euo pipefail
has=$(docker image inspect -f '{{index .Config.Labels "org.containerx.platforms"}}' "$1" 2>/dev/null || true)
tr , '\n' <<<"$2,$has" | sed '/^$/d' | sort -u | paste -sd,
