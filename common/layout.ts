import { posix } from "node:path";

/**
 * Where things live inside a Containerx image. The frontend writes these paths
 * and the runtime reads them, so they are defined once here.
 */
export const LAYOUT = {
  /** The OS base: read-only layer fetched from the guest-base image. */
  baseDir: "/cx/base",
  baseDisk: "/cx/base/disk.qcow2",
  baseKernel: "/cx/base/vmlinuz",
  baseInitrd: "/cx/base/initrd.img",
  baseManifest: "/cx/base/base.json",
  /** A bring-your-own base's firmware image (base.boot: firmware). */
  baseFirmware: "/cx/base/firmware.bin",
  /** The app overlay: a qcow2 whose backing file is the base disk. */
  appDir: "/cx/app",
  appDisk: "/cx/app/disk.qcow2",
  /**
   * The guest as booted at build time, to resume instead of booting: QEMU's
   * migration stream, the guest RAM the stream leaves out (a file the resumed
   * guest maps), the disk it was taken with (a qcow2 over the app's), and
   * snapshot.json, the machine it fits.
   */
  snapshotDir: "/cx/snapshot",
  snapshotState: "/cx/snapshot/state",
  snapshotRam: "/cx/snapshot/ram",
  snapshotDisk: "/cx/snapshot/disk.qcow2",
  snapshotManifest: "/cx/snapshot/snapshot.json",
  /** One directory per `run` step, each disk a qcow2 over the one before. */
  layersDir: "/cx/layers",
  /** A run step's build secrets, one file per id (BuildKit's secret mounts), shared into the guest at guestSecretsDir. */
  secretsDir: "/cx/secrets",
  guestSecretsDir: "/run/secrets",
  /** The runtime's programs (runtime/programs.ts makes each an executable here). */
  launcher: "/cx/runtime/bin/cx-launch",
  populate: "/cx/runtime/bin/cx-populate",
  runStep: "/cx/runtime/bin/cx-run-step",
  importBase: "/cx/runtime/bin/cx-import-base",
  snapshot: "/cx/runtime/bin/cx-snapshot",
  /** The runtime's QEMU package version, which a snapshot must have been taken with. */
  qemuVersion: "/cx/runtime/qemu-version",
  /** Runs a command in the running guest: the VM's `docker exec`. */
  exec: "/cx/runtime/bin/cx-exec",
  /** UEFI flash images per arch, <dir>/<arch>/code.qcow2 and vars.qcow2: qcow2 because Debian's raw ones are mostly padding. */
  uefiDir: "/cx/runtime/firmware",
  /** noVNC's page and scripts (Debian's novnc package's files), which the launcher serves for CX_DISPLAY=web. */
  novncDir: "/cx/runtime/novnc",
} as const;

/**
 * Per-container state of the launcher: its writable disk, QEMU's sockets, the
 * console log; `configured` is CX_STATE_DIR. A container started with
 * `docker run -u` cannot write under /cx, so it keeps them in /tmp; cx-exec
 * finds the launcher the same way.
 */
export function stateDir(configured: string | undefined, uid: number): string {
  return configured ?? (uid === 0 ? "/cx/state" : "/tmp/cx-state");
}

export const EXEC_SOCKET = "exec.sock";

/**
 * The environment variable that carries a build step's JSON request to
 * cx-populate and cx-run-step. Not an argument, so BuildKit's progress and
 * error lines show the step's name rather than a wall of JSON.
 */
export const STEP_REQUEST_ENV = "CX_STEP_REQUEST";

/** Directory of the i-th run layer (0-based). */
export function runLayerDir(i: number): string {
  return `${LAYOUT.layersDir}/${i}`;
}

/** The disk a new layer stacks on after `runs` run layers: the last run layer's, or the base's. */
export function topDiskAfter(runs: number): string {
  return runs === 0 ? LAYOUT.baseDisk : `${runLayerDir(runs - 1)}/disk.qcow2`;
}

/** The backing path stored in a qcow2 at `disk`: relative, so layers can move together. */
export function backingPath(disk: string, backing: string): string {
  return posix.relative(posix.dirname(disk), backing);
}

/** Debian's PATH: for guest apps without their own, and for the build steps' commands. */
export const STANDARD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * How a base starts. Published bases boot their kernel and initrd into the
 * Containerx agent; a bring-your-own OS boots its own way, without the agent,
 * with its serial console as the container's stdio.
 */
export type BaseBoot =
  | { readonly kind: "agent" }
  | { readonly kind: "kernel"; readonly initrd: boolean }
  | { readonly kind: "uefi" }
  | { readonly kind: "firmware" };

export type BootKind = BaseBoot["kind"];
export const BOOT_KINDS: readonly BootKind[] = ["agent", "kernel", "uefi", "firmware"];

/** Metadata a guest base carries about itself, in `base.json`. */
export interface BaseManifest {
  readonly arch: string;
  readonly flavour: string;
  /** Kernel arguments the base needs, before the runtime's own. */
  readonly kernelArgs: readonly string[];
  /** Absent for an OS whose kernel Containerx does not know. */
  readonly kernelVersion?: string;
  /** Absent in published bases: they boot into the agent. */
  readonly boot?: BaseBoot;
  /** The kernel drives the screen's devices (CX_DISPLAY); absent where it has no driver for them. */
  readonly screen?: boolean;
}
