/**
 * Guest RAM: how it is split into NUMA nodes and what backs each node.
 *
 * A build-time snapshot keeps guest RAM as a file that a resumed guest maps
 * instead of loading: QEMU's x-ignore-shared migration leaves RAM backed by a
 * shared file out of its stream, so a resume reads only the pages the guest
 * touches, and containers of one image share them in the page cache. An
 * image layer keeps no sparse files, though, so only the first MAPPED_RAM_MIB
 * are the file: on a machine that takes a node of memory alone, the rest of
 * RAM is a second NUMA node, streamed. The guest kernel allocates from its
 * CPU's node first, so what the boot touched is in the file and the stream
 * holds little more than the second node's page structures. Elsewhere, RAM
 * larger than that is streamed whole, as before.
 */
import { optionValue, QEMU_IDS } from "../../common/qemu-options.js";

/** RAM kept as a file in the snapshot layer: what a minimal or Debian guest touches while booting, with room. */
export const MAPPED_RAM_MIB = 128;

export interface RamNode {
  readonly sizeMiB: number;
  /** Backed by the snapshot's RAM file when the machine is saved or resumed. */
  readonly mapped: boolean;
}

/** The guest's RAM nodes for `memoryMiB`; `cpulessNode` when the machine takes a NUMA node without CPUs. */
export function ramNodes(memoryMiB: number, cpulessNode: boolean): RamNode[] {
  if (memoryMiB <= MAPPED_RAM_MIB) return [{ sizeMiB: memoryMiB, mapped: true }];
  if (!cpulessNode) return [{ sizeMiB: memoryMiB, mapped: false }];
  return [{ sizeMiB: MAPPED_RAM_MIB, mapped: true }, { sizeMiB: memoryMiB - MAPPED_RAM_MIB, mapped: false }];
}

/**
 * What backs guest RAM in one QEMU run: private memory; shared memory
 * (virtiofsd maps guest RAM); or, for the mapped node, the snapshot's RAM
 * file: written through while the machine is saved, mapped read-only and
 * private when it resumes (rom=off, or the guest may not write its own RAM).
 */
export type RamBacking = "private" | "shared" | { readonly file: string; readonly mode: "save" | "resume" };

/** The i-th node's memory backend. Ids are the migration stream's names for the RAM blocks, so save and resume must agree. */
export const ramId = (i: number) => (i === 0 ? QEMU_IDS.ram : `${QEMU_IDS.ram}${i}`);

function backend(node: RamNode, i: number, backing: RamBacking): string {
  const base = `id=${ramId(i)},size=${node.sizeMiB}M`;
  if (backing === "shared") return `memory-backend-memfd,${base},share=on`;
  if (backing === "private" || !node.mapped) return `memory-backend-ram,${base}`;
  const file = `memory-backend-file,${base},mem-path=${optionValue(backing.file)}`;
  return backing.mode === "save" ? `${file},share=on` : `${file},share=off,readonly=on,rom=off`;
}

/**
 * QEMU's memory options: the backends, the machine property that names the
 * one backend of a single node, and the -numa options of two.
 */
export function memoryArgs(nodes: readonly RamNode[], backing: RamBacking, cpus: number): { args: string[]; machineProperty?: string } {
  const objects = nodes.flatMap((node, i) => ["-object", backend(node, i, backing)]);
  if (nodes.length === 1) return { args: objects, machineProperty: `memory-backend=${ramId(0)}` };
  const numa = nodes.flatMap((_, i) => ["-numa", `node,nodeid=${i},${i === 0 ? `cpus=0-${cpus - 1},` : ""}memdev=${ramId(i)}`]);
  return { args: [...objects, ...numa] };
}
