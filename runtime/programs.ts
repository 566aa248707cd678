import type { GuestArch } from "../common/arches.js";
import { PASST } from "./vm/network.js";
import { VIRTIOFSD } from "./vm/virtiofsd.js";

/**
 * The runtime image's programs. Each is an executable under /cx/runtime/bin
 * (LAYOUT names the ones other code starts) that runs one bundled script in
 * /cx/runtime/lib: runtime/bundle.ts makes both from this table, so the image
 * carries no node_modules and Node reads one file per program instead of a
 * module graph.
 *
 * `snapshot`: the program starts from a V8 startup snapshot of its bundle,
 * loaded and compiled once when the image is built (the Dockerfile makes
 * lib/<name>.blob from lib/<name>.snapshot.cjs with the image's own node).
 * Its entry registers its main with v8.startupSnapshot instead of running it,
 * and reads its arguments from argv[1] on (the executable passes them after
 * `--`). The launcher starts at every `docker run`, so it is the one worth it.
 */
export interface RuntimeProgram {
  /** The compiled entry module, relative to dist/. */
  readonly entry: string;
  readonly snapshot?: true;
}

export const RUNTIME_BIN = "/cx/runtime/bin";
export const RUNTIME_LIB = "/cx/runtime/lib";

export const RUNTIME_PROGRAMS: Readonly<Record<string, RuntimeProgram>> = {
  "cx-launch": { entry: "runtime/launcher/entry.js", snapshot: true },
  "cx-exec": { entry: "runtime/exec/main.js" },
  "cx-populate": { entry: "runtime/populate/main.js" },
  "cx-run-step": { entry: "runtime/run-step/main.js" },
  "cx-import-base": { entry: "runtime/import-base/main.js" },
  "cx-snapshot": { entry: "runtime/snapshot/main.js" },
};

/** The bundle runtime/bundle.ts writes for a program, relative to the lib directory. */
export const bundleFile = (name: string, program: RuntimeProgram) => `${name}${program.snapshot ? ".snapshot" : ""}.cjs`;

/**
 * The executable /cx/runtime/bin/<name>: node on the program's snapshot or
 * bundle, the container's arguments passed on. V8 flags in NODE_OPTIONS make
 * node refuse a snapshot built without them, so then the snapshot program
 * runs its bundle as a plain script.
 */
export function programScript(name: string, program: RuntimeProgram): string {
  const bundle = `exec /usr/bin/node ${RUNTIME_LIB}/${bundleFile(name, program)} "$@"\n`;
  if (!program.snapshot) return `#!/bin/sh\n${bundle}`;
  return `#!/bin/sh\n[ -z "\${NODE_OPTIONS:-}" ] || ${bundle}exec /usr/bin/node --snapshot-blob ${RUNTIME_LIB}/${name}.blob -- "$@"\n`;
}

/** Debian's node reads the builtins it keeps outside its binary at every start, from these paths compiled into libnode. */
const NODE_BUILTINS = ["acorn/dist/acorn.js", "acorn-walk/dist/walk.js", "cjs-module-lexer/lexer.js", "cjs-module-lexer/dist/lexer.js",
  "minimatch/dist/cjs/index.bundle.js", "undici/undici-fetch.js"].map((f) => `/usr/share/nodejs/${f}`);

/**
 * The host files of the runtime image besides the programs, from Debian's
 * packages: what the programs and the launcher start, each with its shared
 * libraries (runtime/host-files.sh), and nothing else, so an app image
 * carries no package manager, docs or unused tools. Shared by every arch:
 * node; virtiofsd for volumes; passt for the network; qemu-img, qemu-io, debugfs, e2fsck and cp for
 * the disk steps; sh, find, touch, mkdir and dirname for the layer copy
 * (frontend/convert/image-layer.ts); stty for a terminal; busybox for a
 * shell's everyday commands in `docker exec` and `docker run --entrypoint`.
 */
export const RUNTIME_HOST_FILES: readonly string[] = [
  "node", ...NODE_BUILTINS, VIRTIOFSD, PASST, "qemu-img", "qemu-io", "debugfs", "e2fsck", "cp", "sh", "find", "touch", "mkdir", "dirname", "stty", "busybox",
  "/etc/passwd", "/etc/group",
];

/**
 * One arch's layer of the runtime image: its QEMU, the data directories that
 * QEMU searches (BIOS, option ROMs, device trees, OpenSBI: /usr/share/qemu,
 * /usr/share/seabios …, as it lists them) and its loadable modules (display,
 * USB and audio devices a Cxfile's guest.qemu_args may add), under this
 * machine's multiarch directory.
 */
export const qemuHostFiles = (arch: GuestArch): readonly string[] => [arch.qemuBinary, `qemu-data:${arch.qemuBinary}`, "/usr/lib/*/qemu"];
