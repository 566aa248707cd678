/**
 * The arch table for shell scripts: `node dist/guest-bases/arch-table.js names`
 * prints the guest arches, `selected` those CX_ARCHES selects (arch-selection.ts), `qemu-packages` the Debian packages of their QEMUs,
 * `uefi-firmware` arch:package:code:vars of their UEFI flash images (where Debian has them),
 * `qemu-binary ARCH` the QEMU system emulator of one arch,
 * `runtime-files` and `qemu-files ARCH` the host files of the runtime image's shared and per-arch layers (runtime/programs.ts),
 * `runtime-arches REQUEST…` the arches whose runtime images a request needs and `runtime-tag ARCH` an arch's tag (arch-selection.ts, arches.ts),
 * `host-platforms` the platforms the images are built for (common/host-platforms.ts),
 * `bases REQUEST…` the guest bases a request names, in build order (arch-selection.ts),
 * space-separated, so bootstrap and bench scripts keep no list of their own.
 */
import { ARCHES, ARCH_NAMES, isArchName, runtimeTag, type ArchName, type GuestArch } from "../common/arches.js";
import { HOST_PLATFORMS } from "../common/host-platforms.js";
import { qemuHostFiles, RUNTIME_HOST_FILES } from "../runtime/programs.js";
import { basesToBuild, runtimeArches, selectedArches } from "./arch-selection.js";

function archArg(arch: string | undefined): ArchName {
  if (!arch || !isArchName(arch)) throw new Error(`unknown guest arch '${arch ?? ""}' (known: ${ARCH_NAMES.join(", ")})`);
  return arch;
}

/** The arches named, or all of them. */
const archArgs = (args: string[]) => (args.length ? args.map(archArg) : ARCH_NAMES);

const queries: Record<string, (args: string[]) => string[]> = {
  names: () => ARCH_NAMES,
  selected: () => selectedArches(),
  "qemu-packages": (args) => [...new Set(archArgs(args).map((a) => ARCHES[a].qemuPackage))],
  "uefi-firmware": (args) => archArgs(args).flatMap((a) => {
    const { uefi }: GuestArch = ARCHES[a];
    return uefi ? [[a, uefi.package, uefi.code, uefi.vars].join(":")] : [];
  }),
  "qemu-binary": ([arch]) => [ARCHES[archArg(arch)].qemuBinary],
  "runtime-files": () => [...RUNTIME_HOST_FILES],
  "qemu-files": ([arch]) => [...qemuHostFiles(ARCHES[archArg(arch)])],
  "runtime-arches": (requests) => runtimeArches(requests),
  "runtime-tag": ([arch]) => [runtimeTag("latest", archArg(arch))],
  "host-platforms": () => [...HOST_PLATFORMS],
  bases: (requests) => basesToBuild(requests),
};

const query = queries[process.argv[2] ?? ""];
if (!query) {
  process.stderr.write(`usage: arch-table.js ${Object.keys(queries).join("|")}\n`);
  process.exit(2);
}
try {
  console.log(query(process.argv.slice(3)).join(" "));
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
}
