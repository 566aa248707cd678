# The project's two host images, each the target of its last stage:
# `--target runtime` (containerx/runtime:<arch>: one guest arch's QEMU,
# qemu-img, the launcher that is every app image's entrypoint, and the build
# steps cx-populate, cx-run-step, cx-import-base, cx-snapshot) and
# `--target frontend` (containerx/frontend: the BuildKit frontend). Both take their JavaScript from one compile stage, so the
# TypeScript build is written, and cached, once. bootstrap/images.sh builds
# them from the repository root. The defaults are the public images;
# images.sh passes locally built Debian ones where Docker Hub is out of reach.
ARG NODE_IMAGE=node:20-trixie-slim
# trixie: its virtiofsd shares volumes with the guest (bookworm has none).
ARG DEBIAN_IMAGE=debian:trixie-slim

# Compiled once on the build machine: the JavaScript is the same for every host platform.
FROM --platform=$BUILDPLATFORM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY common common
COPY frontend frontend
COPY runtime runtime
RUN npx tsc -p tsconfig.json && node dist/runtime/bundle.js /src/bundle && npm prune --omit=dev

# Firmware is guest code: the same bytes for every host platform.
FROM --platform=$BUILDPLATFORM ${DEBIAN_IMAGE} AS firmware
# arch:package:code:vars per guest arch, from the shared arch table (common/arches.ts).
ARG UEFI_FIRMWARE=
COPY runtime/uefi-firmware.sh /usr/local/bin/
RUN uefi-firmware.sh /firmware ${UEFI_FIRMWARE}

# noVNC's page and scripts (CX_DISPLAY=web), the same for every host platform: Debian's
# package unpacked without its dependencies, since QEMU's VNC server takes websockets
# itself and websockify would bring Python into every runtime image.
FROM --platform=$BUILDPLATFORM ${DEBIAN_IMAGE} AS novnc
WORKDIR /tmp/novnc
RUN apt-get update \
 && apt-get download novnc \
 && dpkg-deb -x novnc_*.deb unpacked \
 && mv unpacked/usr/share/novnc /novnc \
 && rm -rf /var/lib/apt/lists/* /tmp/novnc

# Every package the runtime's files come from, installed once for all arches.
FROM ${DEBIAN_IMAGE} AS runtime-packages
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      qemu-utils e2fsprogs virtiofsd passt nodejs busybox \
 && rm -rf /var/lib/apt/lists/*

# The programs, one bundled script each, and their executables (runtime/programs.ts): no node_modules.
# A stage of its own, copied last into every arch's runtime: a code change does not
# reinstall QEMU, and every arch's runtime gets the same layers.
FROM runtime-packages AS programs
COPY --from=build /src/bundle/lib /cx/runtime/lib
COPY --from=build /src/bundle/bin /cx/runtime/bin
# Startup snapshots, made by the node that will deserialize them (the runtime's is a copy of this one).
RUN for s in /cx/runtime/lib/*.snapshot.cjs; do node --snapshot-blob "${s%.snapshot.cjs}.blob" --build-snapshot "$s"; done

# The runtime's shared layer: the files every arch's runtime runs besides QEMU
# (arch-table.js runtime-files), busybox's commands where Debian's are not
# taken, and the directories a container expects. `docker exec CONTAINER guest
# CMD…` runs CMD in the guest; a plain `docker exec CONTAINER sh` stays the runtime's shell.
FROM runtime-packages AS shared-files
ARG RUNTIME_FILES=
COPY runtime/host-files.sh /usr/local/bin/
RUN host-files.sh /files /nonexistent ${RUNTIME_FILES} \
 && for cmd in $(busybox --list); do [ -e "/files/usr/bin/$cmd" ] || ln -s busybox "/files/usr/bin/$cmd"; done \
 && mkdir -p -m 1777 /files/tmp /files/var/tmp \
 && mkdir -p /files/root /files/usr/local/bin \
 && ln -s /cx/runtime/bin/cx-exec /files/usr/local/bin/guest

# One arch's QEMU (arch-table.js qemu-packages) and its files (qemu-files) that the shared layer lacks.
# qemu-version: a build-time snapshot resumes only into the QEMU that saved it; the launcher compares this.
FROM runtime-packages AS qemu-files
ARG QEMU_PACKAGES=qemu-system-arm
ARG QEMU_FILES=qemu-system-aarch64
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${QEMU_PACKAGES} \
 && rm -rf /var/lib/apt/lists/*
COPY --from=shared-files /files /shared
COPY runtime/host-files.sh /usr/local/bin/
RUN host-files.sh /files /shared ${QEMU_FILES} \
 && mkdir -p /files/cx/runtime \
 && dpkg-query -W -f '${Version}\n' qemu-system-common > /files/cx/runtime/qemu-version

# containerx/runtime:<arch>: nothing but the files it runs, the shared ones first
# so that images of different guest arches share those layers.
FROM scratch AS runtime
COPY --from=shared-files /files /
COPY --from=qemu-files /files /
COPY --from=firmware /firmware /cx/runtime/firmware
COPY --from=novnc /novnc /cx/runtime/novnc
COPY --from=programs /cx/runtime/lib /cx/runtime/lib
COPY --from=programs /cx/runtime/bin /cx/runtime/bin
# Debian's PATH, which an image from scratch does not inherit.
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ENTRYPOINT ["/cx/runtime/bin/cx-launch"]

# Debian's nodejs alone: no npm in the image, and nothing to install under
# qemu-user for a foreign platform but node itself.
FROM ${DEBIAN_IMAGE} AS frontend
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/node_modules /opt/containerx/node_modules
COPY --from=build /src/package.json /opt/containerx/package.json
COPY --from=build /src/dist/common /opt/containerx/dist/common
COPY --from=build /src/dist/frontend /opt/containerx/dist/frontend
COPY proto /opt/containerx/proto
# What BuildKit may ask of this frontend beyond a build: SERVED_FRONTEND_CAPS in frontend/gateway/caps.ts, kept equal by a unit test.
LABEL moby.buildkit.frontend.caps="moby.buildkit.frontend.subrequests,moby.buildkit.frontend.contexts"
# It talks only to BuildKit over its stdio: BuildKit runs it with no network.
LABEL moby.buildkit.frontend.network.none="true"
ENTRYPOINT ["node", "/opt/containerx/dist/frontend/main.js"]
