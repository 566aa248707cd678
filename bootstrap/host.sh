#!/usr/bin/env bash
# Installs and starts what Containerx needs on a Debian 12 host: Docker 26 and
# buildx from trixie (pinned low so nothing else moves to trixie), QEMU, the
# image-building tools, and a local registry for push tests. Idempotent: a
# second run with everything present does no apt work and leaves a running
# dockerd and registry alone. Arguments are more Debian packages to install
# (test/run-all.sh: the host packages the selected tests drive).
set -euo pipefail

log() { printf 'containerx-setup: %s\n' "$*" >&2; }

[ "$(id -u)" = 0 ] || { log "run as root (apt-get and dockerd need it)"; exit 1; }

TRIXIE_LIST=/etc/apt/sources.list.d/containerx-trixie.sources
TRIXIE_PIN=/etc/apt/preferences.d/containerx-trixie

# The trixie source is derived from the machine's own Debian source so it uses
# the same mirror (the only one reachable on offline-ish hosts).
add_trixie_source() {
  [ -f "$TRIXIE_LIST" ] && return 0
  local src=/etc/apt/sources.list.d/debian.sources
  [ -f "$src" ] || { log "no $src to derive a trixie source from"; exit 1; }
  awk 'BEGIN{RS=""; ORS="\n\n"} /Suites: bookworm( |$|\n)/ && !/security/' "$src" \
    | sed -e 's/^Suites:.*/Suites: trixie/' >"$TRIXIE_LIST"
  printf 'Package: *\nPin: release n=trixie\nPin-Priority: 100\n' >"$TRIXIE_PIN"
  APT_UPDATED=
}

HOST_PACKAGES=(
  qemu-system-arm qemu-system-misc qemu-system-x86 qemu-system-mips qemu-system-ppc opensbi qemu-utils e2fsprogs debootstrap
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross
  cpio zstd jq curl ca-certificates kmod
  fdisk dosfstools mtools
  docker-registry
  qemu-user-static
  "$@"
)
TRIXIE_PACKAGES=(docker.io docker-buildx)

missing() { # prints the packages of "$@" that dpkg does not have installed
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "${p%/*}" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}

APT_UPDATED=no
apt_install() {
  [ $# -gt 0 ] || return 0
  if [ "$APT_UPDATED" != yes ]; then
    # A mirror caught mid-sync fails some indexes; the ones apt has may still hold the packages.
    apt-get update -qq || log "apt-get update reported errors (a mirror mid-sync?); installing from the indexes apt has"
    APT_UPDATED=yes
  fi
  log "installing: $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

add_trixie_source
mapfile -t need < <(missing "${HOST_PACKAGES[@]}")
mapfile -t need_trixie < <(missing "${TRIXIE_PACKAGES[@]}")
apt_install "${need[@]}" "${need_trixie[@]/%//trixie}"

# Foreign host platforms' build steps (the arm64 runtime's apt-get) run under
# qemu-user. The F flag opens the interpreter now, so it works inside build
# containers, which do not have it on their own filesystem.
enable_binfmt() {
  local fs=/proc/sys/fs/binfmt_misc arch
  [ -e "$fs/register" ] || mount -t binfmt_misc binfmt_misc "$fs"
  for arch in "$@"; do
    # qemu-user-static has no entry for the machine's own arch.
    [ -f "/usr/lib/binfmt.d/qemu-$arch.conf" ] || continue
    [ -e "$fs/qemu-$arch" ] || cat "/usr/lib/binfmt.d/qemu-$arch.conf" >"$fs/register"
  done
}
# The CPUs of the host platforms (common/host-platforms.ts), as qemu names them.
enable_binfmt x86_64 aarch64

# The containerd image store holds multi-platform images (an index and a
# manifest per host platform), which buildx --platform a,b needs.
DAEMON_JSON=/etc/docker/daemon.json
configure_dockerd() {
  local current='{}'
  [ -f "$DAEMON_JSON" ] && current=$(cat "$DAEMON_JSON")
  if [ "$(jq -r '.features."containerd-snapshotter" // false' <<<"$current")" != true ]; then
    mkdir -p "$(dirname "$DAEMON_JSON")"
    jq '.features."containerd-snapshotter" = true' <<<"$current" >"$DAEMON_JSON"
    log "enabled the containerd image store in $DAEMON_JSON"
  fi
}
configure_dockerd

uses_containerd_store() { docker info -f '{{.DriverStatus}}' 2>/dev/null | grep -q 'io.containerd.snapshotter'; }

# The classic image store (overlay2) stays on disk when dockerd moves to the
# containerd store, unseen by it: on a machine that used Docker before, often
# tens of GB. Say how much and how to get it back, every run while it is there.
report_classic_store() {
  local root=/var/lib/docker dirs=() d size
  for d in "$root/overlay2" "$root/image"; do [ -d "$d" ] && dirs+=("$d"); done
  [ ${#dirs[@]} -gt 0 ] || return 0
  size=$(du -sm "${dirs[@]}" 2>/dev/null | awk '{s += $1} END {print s + 0}')
  [ "$size" -ge 100 ] || return 0
  log "the classic image store from before the switch to the containerd store keeps $((size / 1024)).$(((size % 1024) * 10 / 1024)) GB in ${dirs[*]}, unused now;"
  log "  reclaim it with: pkill -x dockerd && rm -rf ${dirs[*]} && bash bootstrap/host.sh (its images are gone then; to keep them instead, set features.containerd-snapshotter to false in $DAEMON_JSON)"
}

start_dockerd() {
  if docker info >/dev/null 2>&1; then
    uses_containerd_store && return 0
    log "restarting dockerd for the containerd image store (images built with the old store are not visible in the new one)"
    pkill -x dockerd
    local i
    for i in $(seq 1 30); do pgrep -x dockerd >/dev/null || break; sleep 1; done
  fi
  log "starting dockerd (log: /var/log/containerx-dockerd.log)"
  nohup dockerd >/var/log/containerx-dockerd.log 2>&1 &
  local i
  for i in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return 0
    sleep 1
  done
  log "dockerd did not come up; see /var/log/containerx-dockerd.log"
  exit 1
}
start_dockerd
report_classic_store

# Docker trusts plain http to registries on 127.0.0.0/8, so pushes need no TLS.
start_registry() {
  if curl -fsS http://127.0.0.1:5000/v2/ >/dev/null 2>&1; then return 0; fi
  log "starting a local registry on 127.0.0.1:5000 (log: /var/log/containerx-registry.log)"
  nohup docker-registry serve "$(cd "$(dirname "$0")" && pwd)/registry.yml" >/var/log/containerx-registry.log 2>&1 &
  local i
  for i in $(seq 1 30); do
    curl -fsS http://127.0.0.1:5000/v2/ >/dev/null 2>&1 && return 0
    sleep 1
  done
  log "the registry did not come up; see /var/log/containerx-registry.log"
  exit 1
}
start_registry
docker buildx version >/dev/null || { log "docker buildx is not available"; exit 1; }
log "host ready: $(docker version -f 'docker {{.Server.Version}}'), $(docker buildx version | cut -d' ' -f1,2)"
