import type { ArchName } from "../../common/arches.js";
import { selectedArches } from "../../guest-bases/arch-selection.js";

/**
 * U-Boot of Debian's u-boot-qemu for each arch whose QEMU machine it has a
 * build for (ppce500 loads an ELF firmware only): what own-os.test.ts boots
 * as `boot: firmware`, and so which runtimes needs.ts has built for it.
 * Its malta builds (maltael, malta64el) printed nothing on the console in
 * 60 s here, so they are not in the list.
 */
const U_BOOT: Partial<Record<ArchName, string>> = {
  aarch64: "qemu_arm64/u-boot.bin",
  arm: "qemu_arm/u-boot.bin",
  riscv64: "qemu-riscv64/u-boot.bin",
  x86_64: "qemu-x86_64/u-boot.rom",
  i386: "qemu-x86/u-boot.rom",
  ppc: "qemu-ppce500/uboot.elf",
};

/** The selected arches (CX_ARCHES) with a U-Boot, and its file under u-boot-qemu's /usr/lib/u-boot. */
export const uBootArches = (): [ArchName, string][] => selectedArches().flatMap((a) => (U_BOOT[a] ? [[a, U_BOOT[a]!] as [ArchName, string]] : []));
