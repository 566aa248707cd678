#!/usr/bin/env bash
# Builds containerx/node:<suite>, the image the frontend's and the runtime's
# build stages compile in (Debian's nodejs and npm over containerx/host-debian).
# Those stages run on the build platform, so it exists for this engine's
# platform alone. It trusts what this host trusts (its extra CAs, e.g. a
# TLS-intercepting proxy's), so npm inside image builds reaches the registry;
# it is built again only when those change.
# Usage: node-image.sh IMAGE DEBIAN_IMAGE
set -euo pipefail
IMAGE=$1 DEBIAN_IMAGE=$2
native=$(docker version -f '{{.Server.Os}}/{{.Server.Arch}}')
ca_dir=/usr/local/share/ca-certificates
ca_sum=$(cat "$ca_dir"/*.crt 2>/dev/null | sha256sum | cut -c1-12)
[ "$(docker image inspect -f '{{index .Config.Labels "org.containerx.host-ca"}}' "$IMAGE" 2>/dev/null)" != "$ca_sum" ] || exit 0
echo "containerx-setup: building $IMAGE for $native (Debian's nodejs and npm; about 1 min, once)" >&2
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp "$ca_dir"/*.crt "$ctx"/ 2>/dev/null || true
bash "$(dirname "$0")/debian-image.sh" "$DEBIAN_IMAGE" trixie "$native"
bash "$(dirname "$0")/build-platforms.sh" "$IMAGE" "$native" -f - "$ctx" <<DOCKERFILE
FROM $DEBIAN_IMAGE
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY . /usr/local/share/ca-certificates/
RUN update-ca-certificates >/dev/null
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
LABEL org.containerx.host-ca="$ca_sum"
DOCKERFILE
