#!/usr/bin/env bash
# Starts Debian 12's own Docker engine (docker.io 20.10, with BuildKit v0.8)
# beside the main one, to run the test suite against it:
#   CX_ENGINE=docker-20.10 npm test
# Its dockerd is bookworm's docker.io package unpacked under /opt (the
# installed docker.io stays trixie's 26.x), with its own data root, socket and
# bridge, NATed so build steps reach the Debian mirror. Prints the DOCKER_HOST
# to reach it. Idempotent: a running engine is left alone.
set -euo pipefail
log() { printf 'containerx-setup: %s\n' "$*" >&2; }

DIR=/opt/containerx/docker-20.10
RUN_DIR=/run/cx-docker-20.10
SOCKET=$RUN_DIR/docker.sock
BRIDGE=cx-d20-br
SUBNET=10.198.0.0/24
ADDRESS=10.198.0.1/24

if [ ! -x "$DIR/usr/sbin/dockerd" ]; then
  log "unpacking bookworm's docker.io into $DIR"
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -qq docker.io/bookworm 2>/dev/null)
  mkdir -p "$DIR"
  dpkg-deb -x "$tmp"/docker.io_*.deb "$DIR"
  rm -rf "$tmp"
fi

if ! DOCKER_HOST=unix://$SOCKET docker info >/dev/null 2>&1; then
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
    ip addr add "$ADDRESS" dev "$BRIDGE"
    ip link set "$BRIDGE" up
  fi
  # The main engine owns iptables' DOCKER chains: this one adds only its own NAT.
  iptables -t nat -C POSTROUTING -s "$SUBNET" ! -o "$BRIDGE" -j MASQUERADE 2>/dev/null \
    || iptables -t nat -A POSTROUTING -s "$SUBNET" ! -o "$BRIDGE" -j MASQUERADE
  for dir in -i -o; do
    iptables -C FORWARD "$dir" "$BRIDGE" -j ACCEPT 2>/dev/null || iptables -I FORWARD "$dir" "$BRIDGE" -j ACCEPT
  done
  mkdir -p "$RUN_DIR"
  log "starting Docker 20.10 on $SOCKET (log: /var/log/containerx-docker-20.10.log)"
  nohup "$DIR/usr/sbin/dockerd" --data-root /var/lib/containerx-docker-20.10 --exec-root "$RUN_DIR" \
    --pidfile "$RUN_DIR/dockerd.pid" -H "unix://$SOCKET" --bridge "$BRIDGE" --iptables=false \
    --userland-proxy-path "$DIR/usr/sbin/docker-proxy" >/var/log/containerx-docker-20.10.log 2>&1 &
  for _ in $(seq 1 60); do
    DOCKER_HOST=unix://$SOCKET docker info >/dev/null 2>&1 && break
    sleep 1
  done
  DOCKER_HOST=unix://$SOCKET docker info >/dev/null 2>&1 || { log "Docker 20.10 did not come up; see /var/log/containerx-docker-20.10.log"; exit 1; }
fi
log "Docker $(DOCKER_HOST=unix://$SOCKET docker version -f '{{.Server.Version}}') ready on $SOCKET"
echo "unix://$SOCKET"
