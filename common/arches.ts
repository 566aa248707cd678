/**
 * The guest architectures Containerx can emulate: the one table that the
 * frontend (platform, base names), the runtime (QEMU command line) and the
 * guest-base builder (Debian packages, cross compiler) all read.
 */
export interface GuestArch {
  /** `uname -m` inside the guest; also the name used in base references. */
  readonly unameMachine: string;
  /** Debian's name for the architecture (dpkg --print-architecture). */
  readonly debianArch: string;
  /** OCI platform architecture and variant of the guest. */
  readonly ociArch: string;
  readonly ociVariant?: string;
  readonly qemuBinary: string;
  /** Debian package that ships `qemuBinary`. */
  readonly qemuPackage: string;
  readonly machine: string;
  readonly cpu: string;
  /** Serial console device name as the guest kernel sees it. */
  readonly console: string;
  /** Debian metapackage of the guest kernel. */
  readonly kernelPackage: string;
  /** GNU triplet of Debian's cross compiler (gcc-<triplet>). */
  readonly crossTriplet: string;
}

export const ARCHES = {
  aarch64: {
    unameMachine: "aarch64",
    debianArch: "arm64",
    ociArch: "arm64",
    ociVariant: "v8",
    qemuBinary: "qemu-system-aarch64",
    qemuPackage: "qemu-system-arm",
    machine: "virt",
    // A fixed model, not `max`: snapshots taken at build time must resume on
    // the same CPU, and cortex-a57 avoids the pointer-auth cost of `max` under TCG.
    cpu: "cortex-a57",
    console: "ttyAMA0",
    kernelPackage: "linux-image-arm64",
    crossTriplet: "aarch64-linux-gnu",
  },
} as const satisfies Record<string, GuestArch>;

export type ArchName = keyof typeof ARCHES;

export const ARCH_NAMES = Object.keys(ARCHES) as ArchName[];

export function isArchName(name: string): name is ArchName {
  return Object.prototype.hasOwnProperty.call(ARCHES, name);
}

/** The guest arch that runs natively on a host whose `uname -m` is `machine`. */
export function archForHost(machine: string): ArchName | undefined {
  return ARCH_NAMES.find((name) => ARCHES[name].unameMachine === machine);
}
