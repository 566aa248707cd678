/**
 * The guest architectures Containerx can emulate: the one table that the
 * frontend (platform, base names), the runtime (QEMU command line) and the
 * guest-base builder (Debian packages, cross compiler) all read.
 */
export interface GuestArch {
  /** `uname -m` inside the guest (the table's key names the arch in base references). */
  readonly unameMachine: string;
  /** Debian's name for the architecture (dpkg --print-architecture). */
  readonly debianArch: string;
  /** OCI platform architecture and variant of the guest. */
  readonly ociArch: string;
  readonly ociVariant?: string;
  readonly qemuBinary: string;
  /** Debian trixie package that ships `qemuBinary` (the runtime is trixie). */
  readonly qemuPackage: string;
  readonly machine: string;
  readonly cpu: string;
  /** Serial console device name as the guest kernel sees it. */
  readonly console: string;
  /** Debian metapackage of the guest kernel. */
  readonly kernelPackage: string;
  /** GNU triplet of Debian's cross compiler (gcc-<triplet>). */
  readonly crossTriplet: string;
  /** Debian release of the arch's guest packages, when not bookworm (bookworm has no riscv64 port). */
  readonly debianSuite?: "trixie";
  /** UEFI firmware (edk2) for bases that boot with it: Debian's flash images of its code and of an empty variable store. */
  readonly uefi: { readonly package: string; readonly code: string; readonly vars: string };
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
    uefi: { package: "qemu-efi-aarch64", code: "/usr/share/AAVMF/AAVMF_CODE.no-secboot.fd", vars: "/usr/share/AAVMF/AAVMF_VARS.fd" },
  },
  arm: {
    unameMachine: "armv7l",
    debianArch: "armhf",
    ociArch: "arm",
    ociVariant: "v7",
    qemuBinary: "qemu-system-arm",
    qemuPackage: "qemu-system-arm",
    machine: "virt",
    cpu: "cortex-a15",
    console: "ttyAMA0",
    // The LPAE flavour: virt's PCI and RAM sit above 4 GiB of physical address space.
    kernelPackage: "linux-image-armmp-lpae",
    crossTriplet: "arm-linux-gnueabihf",
    uefi: { package: "qemu-efi-arm", code: "/usr/share/AAVMF/AAVMF32_CODE.fd", vars: "/usr/share/AAVMF/AAVMF32_VARS.fd" },
  },
  riscv64: {
    unameMachine: "riscv64",
    debianArch: "riscv64",
    ociArch: "riscv64",
    qemuBinary: "qemu-system-riscv64",
    qemuPackage: "qemu-system-riscv",
    // QEMU loads OpenSBI (Debian's opensbi package) as virt's firmware by itself.
    machine: "virt",
    cpu: "rv64",
    console: "ttyS0",
    kernelPackage: "linux-image-riscv64",
    crossTriplet: "riscv64-linux-gnu",
    debianSuite: "trixie",
    uefi: { package: "qemu-efi-riscv64", code: "/usr/share/qemu-efi-riscv64/RISCV_VIRT_CODE.fd", vars: "/usr/share/qemu-efi-riscv64/RISCV_VIRT_VARS.fd" },
  },
  x86_64: {
    unameMachine: "x86_64",
    debianArch: "amd64",
    ociArch: "amd64",
    qemuBinary: "qemu-system-x86_64",
    qemuPackage: "qemu-system-x86",
    machine: "q35",
    // The baseline x86-64 model: every TCG build emulates it fully.
    cpu: "qemu64",
    console: "ttyS0",
    kernelPackage: "linux-image-amd64",
    crossTriplet: "x86_64-linux-gnu",
    uefi: { package: "ovmf", code: "/usr/share/OVMF/OVMF_CODE_4M.fd", vars: "/usr/share/OVMF/OVMF_VARS_4M.fd" },
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
