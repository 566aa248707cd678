#!/bin/sh
# Runs in the Debian guest: formats a JSON report with jq, installed at build time.
set -e
printf '{"greeting":"hello %s","machine":"%s","debian":"%s"}\n' "$1" "$(uname -m)" "$(cat /etc/debian_version)" |
  jq -r '"\(.greeting) from \(.machine), Debian \(.debian), jq \($jq)"' --arg jq "$(jq --version)"
