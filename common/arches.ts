/**
 * The guest architectures Containerx can emulate: the one table that the
 * frontend (platform, base names), the runtime (QEMU command line) and the
 * guest-base builder (Debian packages, cross compiler) all read.
 */
export interface GuestArch {
  /** `uname -m` inside the guest (the table's key names the arch in base references). */
  readonly unameMachine: string;
  /** Debian's name for the architecture: its port's, or for an arch Debian has no port of, the one its cross packages use (libc6-dev-<name>-cross). */
  readonly debianArch: string;
  /** OCI platform architecture and variant of the guest. */
  readonly ociArch: string;
  readonly ociVariant?: string;
  readonly qemuBinary: string;
  /** qemu-user's name for the arch (qemu-<name>-static) where it is not qemuBinary's suffix: one system emulator runs both byte orders of ppc64. */
  readonly qemuUserName?: string;
  /** Debian trixie package that ships `qemuBinary` (the runtime is trixie). */
  readonly qemuPackage: string;
  readonly machine: string;
  /** Properties added to -machine, unless the app chose another machine: under TCG (emulation), and when QEMU loads the kernel itself. */
  readonly machineOptions?: { readonly tcg?: readonly string[]; readonly kernelBoot?: readonly string[] };
  readonly cpu: string;
  /** QEMU's -rtc settings for the arch's machine, where its defaults do not suit a resumed guest. */
  readonly rtc?: string;
  /** Kernel arguments of agent guests under TCG (emulation), where a setting made for real hardware costs more than it gives. */
  readonly tcgKernelArgs?: readonly string[];
  /** Why volumes cannot use virtiofs on this arch, which then shares them by 9p; absent where virtiofs works. */
  readonly virtiofsUnusable?: string;
  /** Why the build does not save a guest of this arch for docker run to resume (it boots at every start); absent where resuming works. */
  readonly snapshotUnusable?: string;
  /** How virtio devices attach: PCI, or on a machine without PCI, its virtio-mmio slots. */
  readonly virtioTransport?: "mmio";
  /** Serial console device name as the guest kernel sees it. */
  readonly console: string;
  /**
   * UARTs of the machine beyond the console that QEMU connects with further
   * `-serial` options, which the guest names as the console, numbered on
   * (serial-ports.ts); extra serial ports beyond them are virtio consoles.
   */
  readonly spareUarts?: number;
  /** The screen's display device (CX_DISPLAY) where QEMU's bochs-display is not the one suited: x86's standard VGA. */
  readonly screenDevice?: string;
  /** Where the minimal base's kernel and static userland come from. */
  readonly minimal: MinimalSource;
  /** GNU triplet of Debian's cross compiler (gcc-<triplet>). */
  readonly crossTriplet: string;
  /** Debian release of the arch's guest packages, when not bookworm (bookworm has no riscv64 port). */
  readonly debianSuite?: "trixie";
  /** UEFI firmware (edk2) for bases that boot with it: Debian's flash images of its code and of an empty variable store. Absent where Debian ships none. */
  readonly uefi?: { readonly package: string; readonly code: string; readonly vars: string };
}

export type MinimalSource =
  /** Debian's port: its kernel image (metapackage) and busybox-static. */
  | { readonly from: "debian-port"; readonly kernelPackage: string }
  /**
   * No Debian port: Debian's linux-source built by its cross compiler, as
   * tinyconfig plus the guest's needs plus `kconfig` (symbols set to y), and
   * busybox from Debian's source with Debian's static configuration, both
   * linked with Debian's cross glibc or with musl.
   */
  | {
    readonly from: "source";
    readonly linuxArch: string;
    readonly kconfig: readonly string[];
    /** Symbols of the common guest configuration the arch's Kconfig cannot set (build-kernel.ts), left out. */
    readonly kconfigUnavailable?: readonly string[];
    /** The kernel QEMU loads, relative to the build directory; its name is the make target. */
    readonly kernelImage: string;
    /** The kernel's cross compiler, where crossTriplet's cannot link a kernel (a bare-metal ld cannot link the vDSO). */
    readonly kernelCrossTriplet?: string;
    /** Debian has no glibc for the arch either: musl, configured for `target`, compiled by crossTriplet's gcc with `cflags`. */
    readonly musl?: { readonly target: string; readonly cflags: readonly string[] };
  };

/**
 * The 32-bit time system calls: bookworm's glibc calls nanosleep through
 * them, and without them (tinyconfig) busybox's sleep returned at once.
 */
const TIME32 = ["COMPAT_32BIT_TIME"];

/** Big-endian Malta (QEMU's MIPS board) with its FPU (Debian's mips ABI is hard-float), its UART, and its power-off and reset registers (QEMU ends on them). */
const MALTA_KCONFIG = ["MIPS_MALTA", "CPU_BIG_ENDIAN", "MIPS_FP_SUPPORT", "SERIAL_8250", "SERIAL_8250_CONSOLE", "MFD_SYSCON",
  "POWER_RESET_SYSCON", "POWER_RESET_SYSCON_POWEROFF", "POWER_RESET_PIIX4_POWEROFF", "RTC_DRV_CMOS"];

/** virtiofs passes FUSE messages in the guest's byte order, which virtiofsd does not convert. */
const BIG_ENDIAN = "virtiofsd serves little-endian guests only, and this one is big-endian";
/**
 * Seen under QEMU 10 on all four malta rows (mips with its own kernel,
 * mipsel and mips64el with Debian's; mips64 shares their board and CPU
 * family): resumed, the guest got no timer interrupt until the CPU's count
 * register wrapped, so a `sleep 1` took 20 s and a whole run 25 s. A
 * periodic tick (nohz=off) did not help. Booting takes 4 to 7 s instead.
 */
const MALTA_RESUME = "a guest resumed on QEMU's malta board waits up to 27 s for its first timer interrupt";
/** Seen with Debian's 4kc-malta and 5kc-malta kernels under QEMU 10; 9p works there. */
const MALTA_VIRTIOFS = "a virtiofs mount never completes on QEMU's malta board";

const PSERIES_OPTIONS = {
  // Spectre-class mitigations TCG does not emulate: QEMU would warn about each on every start.
  tcg: ["cap-cfpc=broken", "cap-sbbc=broken", "cap-ibs=broken", "cap-ccf-assist=off"],
  // Virtual Open Firmware instead of SLOF: enough to start a kernel, and about 7 s sooner under TCG.
  kernelBoot: ["x-vof=on"],
} as const;

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
    // KASLR forces KPTI here, and KPTI switches the ASID at every kernel entry
    // and exit, each a flush of QEMU's whole software TLB: a syscall took
    // 23 µs with it and 3 µs without, and redis GET with 4 clients went from
    // 1689 to 2223 req/s (bench/throughput, cold guests).
    tcgKernelArgs: ["nokaslr"],
    console: "ttyAMA0",
    spareUarts: 1,
    minimal: { from: "debian-port", kernelPackage: "linux-image-arm64" },
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
    spareUarts: 1,
    // The LPAE flavour: virt's PCI and RAM sit above 4 GiB of physical address space.
    minimal: { from: "debian-port", kernelPackage: "linux-image-armmp-lpae" },
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
    minimal: { from: "debian-port", kernelPackage: "linux-image-riscv64" },
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
    spareUarts: 3,
    screenDevice: "VGA",
    minimal: { from: "debian-port", kernelPackage: "linux-image-amd64" },
    crossTriplet: "x86_64-linux-gnu",
    uefi: { package: "ovmf", code: "/usr/share/OVMF/OVMF_CODE_4M.fd", vars: "/usr/share/OVMF/OVMF_VARS_4M.fd" },
  },
  i386: {
    unameMachine: "i686",
    debianArch: "i386",
    ociArch: "386",
    qemuBinary: "qemu-system-i386",
    qemuPackage: "qemu-system-x86",
    machine: "q35",
    // The baseline 32-bit model (a P6 with cmov, which Debian's i686 baseline needs): every TCG build emulates it fully.
    cpu: "qemu32",
    console: "ttyS0",
    spareUarts: 3,
    screenDevice: "VGA",
    minimal: { from: "debian-port", kernelPackage: "linux-image-686" },
    crossTriplet: "i686-linux-gnu",
  },
  mipsel: {
    unameMachine: "mips",
    debianArch: "mipsel",
    ociArch: "mipsle",
    qemuBinary: "qemu-system-mipsel",
    qemuPackage: "qemu-system-mips",
    machine: "malta",
    cpu: "24Kf",
    console: "ttyS0",
    spareUarts: 1,
    virtiofsUnusable: MALTA_VIRTIOFS,
    snapshotUnusable: MALTA_RESUME,
    minimal: { from: "debian-port", kernelPackage: "linux-image-4kc-malta" },
    crossTriplet: "mipsel-linux-gnu",
  },
  mips64el: {
    unameMachine: "mips64",
    debianArch: "mips64el",
    ociArch: "mips64le",
    qemuBinary: "qemu-system-mips64el",
    qemuPackage: "qemu-system-mips",
    machine: "malta",
    cpu: "MIPS64R2-generic",
    console: "ttyS0",
    spareUarts: 1,
    virtiofsUnusable: MALTA_VIRTIOFS,
    snapshotUnusable: MALTA_RESUME,
    minimal: { from: "debian-port", kernelPackage: "linux-image-5kc-malta" },
    crossTriplet: "mips64el-linux-gnuabi64",
  },
  ppc64le: {
    unameMachine: "ppc64le",
    debianArch: "ppc64el",
    ociArch: "ppc64le",
    qemuBinary: "qemu-system-ppc64",
    qemuUserName: "ppc64le",
    qemuPackage: "qemu-system-ppc",
    machine: "pseries",
    machineOptions: PSERIES_OPTIONS,
    cpu: "power9",
    console: "hvc0",
    // Seen with Debian's ppc64el kernel, whose pages are 64 KiB; 9p works there.
    virtiofsUnusable: "creating a file over virtiofs fails with EINVAL under Debian's ppc64el kernel",
    minimal: { from: "debian-port", kernelPackage: "linux-image-powerpc64le" },
    crossTriplet: "powerpc64le-linux-gnu",
  },
  mips: {
    unameMachine: "mips",
    virtiofsUnusable: BIG_ENDIAN,
    debianArch: "mips",
    ociArch: "mips",
    qemuBinary: "qemu-system-mips",
    qemuPackage: "qemu-system-mips",
    machine: "malta",
    cpu: "24Kf",
    snapshotUnusable: MALTA_RESUME,
    console: "ttyS0",
    spareUarts: 1,
    crossTriplet: "mips-linux-gnu",
    minimal: { from: "source", linuxArch: "mips", kernelImage: "vmlinux", kconfig: [...MALTA_KCONFIG, "CPU_MIPS32_R2", "32BIT", ...TIME32] },
  },
  mips64: {
    unameMachine: "mips64",
    virtiofsUnusable: BIG_ENDIAN,
    debianArch: "mips64",
    ociArch: "mips64",
    qemuBinary: "qemu-system-mips64",
    qemuPackage: "qemu-system-mips",
    machine: "malta",
    cpu: "MIPS64R2-generic",
    snapshotUnusable: MALTA_RESUME,
    console: "ttyS0",
    spareUarts: 1,
    // n64, the ABI of Debian's mips64 cross glibc.
    crossTriplet: "mips64-linux-gnuabi64",
    minimal: { from: "source", linuxArch: "mips", kernelImage: "vmlinux", kconfig: [...MALTA_KCONFIG, "CPU_MIPS64_R2", "64BIT"] },
  },
  ppc64: {
    unameMachine: "ppc64",
    virtiofsUnusable: BIG_ENDIAN,
    debianArch: "ppc64",
    ociArch: "ppc64",
    qemuBinary: "qemu-system-ppc64",
    qemuPackage: "qemu-system-ppc",
    machine: "pseries",
    machineOptions: PSERIES_OPTIONS,
    cpu: "power9",
    // The sPAPR virtual terminal: pseries' serial port.
    console: "hvc0",
    crossTriplet: "powerpc64-linux-gnu",
    minimal: { from: "source", linuxArch: "powerpc", kernelImage: "vmlinux", kconfig: ["PPC64", "PPC_BOOK3S_64", "CPU_BIG_ENDIAN", "PPC_PSERIES", "PPC_OF_BOOT_TRAMPOLINE", "HVC_CONSOLE"] },
  },
  ppc: {
    unameMachine: "ppc",
    virtiofsUnusable: BIG_ENDIAN,
    debianArch: "powerpc",
    ociArch: "ppc",
    qemuBinary: "qemu-system-ppc",
    qemuPackage: "qemu-system-ppc",
    // QEMU's generic board of Freescale's e500 family (the embedded PowerPC of networking and automotive boards), with its PCI host.
    machine: "ppce500",
    // The e500 core with a classic FPU: Debian's powerpc glibc is hard-float, which the SPE cores (e500v2) cannot run.
    cpu: "e500mc",
    // Seen under QEMU 10: after loading a snapshot, its memory map has none of the PCI host's outbound windows the guest had set up.
    snapshotUnusable: "QEMU's e500 PCI host does not map its windows again when it loads a snapshot, so a resumed guest cannot reach its virtio devices",
    console: "ttyS0",
    spareUarts: 1,
    crossTriplet: "powerpc-linux-gnu",
    minimal: {
      from: "source",
      linuxArch: "powerpc",
      kernelImage: "vmlinux",
      kconfig: ["PPC_85xx", "FSL_SOC_BOOKE", "PPC_QEMU_E500", "PPC_E500MC", "E500MC_CPU",
        // The board's devices sit above 4 GiB of physical address space.
        "PHYS_64BIT", "HIGHMEM",
        // The e500mc lacks some classic FPU instructions (fsqrt) that the glibc uses.
        "MATH_EMULATION", "MATH_EMULATION_HW_UNIMPLEMENTED",
        "SERIAL_8250", "SERIAL_8250_CONSOLE", "SERIAL_OF_PLATFORM",
        // QEMU powers the board off through a GPIO line.
        "GPIOLIB", "GPIO_MPC8XXX", "POWER_RESET_GPIO", ...TIME32],
    },
  },
  m68k: {
    unameMachine: "m68k",
    virtiofsUnusable: BIG_ENDIAN,
    debianArch: "m68k",
    ociArch: "m68k",
    qemuBinary: "qemu-system-m68k",
    qemuPackage: "qemu-system-misc",
    // QEMU's virtual 68040 board: goldfish TTY, RTC and interrupt controllers, and 128 virtio-mmio slots, no PCI.
    machine: "virt",
    cpu: "m68040",
    // The goldfish RTC is the guest's clocksource; counting the host's clock, a resumed guest's uptime jumped by the time since the build.
    rtc: "clock=vm",
    virtioTransport: "mmio",
    console: "ttyGF0",
    crossTriplet: "m68k-linux-gnu",
    minimal: {
      from: "source",
      linuxArch: "m68k",
      kernelImage: "vmlinux",
      // tinyconfig gives a no-MMU ColdFire kernel; VIRT selects the board's goldfish devices and its power-off.
      kconfig: ["MMU", "M68KCLASSIC", "VIRT", "M68040", ...TIME32],
      kconfigUnavailable: ["RSEQ"],
    },
  },
  riscv32: {
    unameMachine: "riscv32",
    debianArch: "riscv32",
    ociArch: "riscv32",
    qemuBinary: "qemu-system-riscv32",
    qemuPackage: "qemu-system-riscv",
    // QEMU loads OpenSBI as virt's firmware; trixie's opensbi package has the rv32 build.
    machine: "virt",
    cpu: "rv32",
    console: "ttyS0",
    // Debian's bare-metal gcc: its multilibs include rv32's libgcc, which no Linux cross gcc of Debian's has.
    crossTriplet: "riscv64-unknown-elf",
    minimal: {
      from: "source",
      linuxArch: "riscv",
      kernelImage: "arch/riscv/boot/Image",
      kernelCrossTriplet: "riscv64-linux-gnu",
      kconfig: ["NONPORTABLE", "ARCH_RV32I", "SOC_VIRT", "MMU", "RISCV_SBI", "FPU", "SERIAL_8250", "SERIAL_8250_CONSOLE",
        "SERIAL_OF_PLATFORM", "PCI_HOST_GENERIC", "POWER_RESET_SYSCON", "POWER_RESET_SYSCON_POWEROFF"],
      musl: { target: "riscv32-linux-musl", cflags: ["-march=rv32imafdc", "-mabi=ilp32d"] },
    },
  },
} as const satisfies Record<string, GuestArch>;

export type ArchName = keyof typeof ARCHES;

export const ARCH_NAMES = Object.keys(ARCHES) as ArchName[];

/** QEMU's name for a virtio device (`virtio-blk`, `virtio-net` …) on the arch's transport: `-pci`, or `-device` for virtio-mmio. */
export const virtioDevice = (arch: GuestArch, device: string) => `${device}-${arch.virtioTransport === "mmio" ? "device" : "pci"}`;

export function isArchName(name: string): name is ArchName {
  return Object.prototype.hasOwnProperty.call(ARCHES, name);
}

/** A Debian userland (`debian/<arch>`) exists only for the arches Debian has a port of. */
export const hasDebianBase = (arch: ArchName) => (ARCHES[arch] as GuestArch).minimal.from === "debian-port";

/** The guest arch that runs natively on a host whose `uname -m` is `machine`. */
export function archForHost(machine: string): ArchName | undefined {
  return ARCH_NAMES.find((name) => ARCHES[name].unameMachine === machine);
}

/**
 * The tag of an arch's runtime image: containerx/runtime:<arch> carries that
 * arch's QEMU and firmware over layers every arch's runtime shares (the
 * Dockerfile's shared-files stage). `release` is CX_RUNTIME_TAG: the
 * default `latest` gives <arch>, another release <release>-<arch>, the way
 * Docker images name their variants (node:20-slim).
 */
export const runtimeTag = (release: string, arch: ArchName) => (release === "latest" ? arch : `${release}-${arch}`);
