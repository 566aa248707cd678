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
  /** The app overlay: a qcow2 whose backing file is the base disk. */
  appDir: "/cx/app",
  appDisk: "/cx/app/disk.qcow2",
  /** Backing path stored in the overlay, relative so the layer can move. */
  appBacking: "../base/disk.qcow2",
  /** The runtime's entrypoints (compiled launcher and populate step under /cx/runtime). */
  launcher: "/cx/runtime/bin/cx-launch",
  populate: "/cx/runtime/bin/cx-populate",
} as const;

/** Metadata a guest base carries about itself, in `base.json`. */
export interface BaseManifest {
  readonly arch: string;
  readonly flavour: string;
  /** Kernel arguments the base needs, before the runtime's own. */
  readonly kernelArgs: readonly string[];
  readonly kernelVersion: string;
}
