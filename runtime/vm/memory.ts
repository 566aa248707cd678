/**
 * Guest RAM and what backs it.
 *
 * A build-time snapshot keeps guest RAM as a file that a resumed guest maps
 * instead of loading: QEMU's x-ignore-shared migration leaves RAM backed by a
 * shared file out of its stream, so a resume reads only the pages the guest
 * touches, and containers of one image share them in the page cache.
 *
 * All of RAM is the file, not a part of it. QEMU loading a stream reads every
 * page the stream says is zero, to see whether it must clear it; where the
 * host kernel maps no shared zero page on such a read (seen on kernels booted
 * with pvm_no_zero_page=1), each read allocates. A 384M part streamed beside a
 * 128M file cost every resumed container 550 MB and up to a second of load
 * there. An image layer keeps no sparse file, so the RAM file costs its full
 * size unpacked; its zeros compress, so the pull does not grow.
 */
import { optionValue, QEMU_IDS } from "../../common/qemu-options.js";

/**
 * What backs guest RAM in one QEMU run: private memory; shared memory
 * (virtiofsd maps guest RAM); or the snapshot's RAM file: written through
 * while the machine is saved, mapped read-only and private when it resumes
 * (rom=off, or the guest may not write its own RAM).
 */
export type RamBacking = "private" | "shared" | { readonly file: string; readonly mode: "save" | "resume" };

/**
 * QEMU's memory backend for `memoryMiB` of guest RAM, and the machine property
 * that names it. The id is the migration stream's name for the RAM block, so
 * it is the same whatever the backing: a machine saved with one resumes into
 * another.
 */
export function memoryArgs(memoryMiB: number, backing: RamBacking): { args: string[]; machineProperty: string } {
  const base = `id=${QEMU_IDS.ram},size=${memoryMiB}M`;
  const backend = backing === "private" ? `memory-backend-ram,${base}`
    : backing === "shared" ? `memory-backend-memfd,${base},share=on`
    : `memory-backend-file,${base},mem-path=${optionValue(backing.file)},${backing.mode === "save" ? "share=on" : "share=off,readonly=on,rom=off"}`;
  return { args: ["-object", backend], machineProperty: `memory-backend=${QEMU_IDS.ram}` };
}
