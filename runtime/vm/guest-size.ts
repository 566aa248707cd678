/**
 * How big the guest may be inside this container. Docker's --memory and
 * --cpus arrive as cgroup limits; the guest gets what they allow minus QEMU's
 * own needs, unless CX_MEMORY / CX_CPUS ask for a size, and even then never
 * more memory than the container may use.
 */
import { readFile } from "node:fs/promises";
import { GUEST_LIMITS, guestVariable } from "../../common/guest-env.js";

export interface CgroupLimits {
  readonly memoryMiB?: number;
  readonly cpus?: number;
}

export interface GuestSize {
  readonly memoryMiB: number;
  readonly cpus: number;
  /** TCG's translation cache: bounded when memory is, since QEMU's default is 1 GiB. */
  readonly tbSizeMiB?: number;
  /** What the sizing decided that a user should hear about. */
  readonly notes: readonly string[];
}

const DEFAULT_MEMORY_MIB = 512;
const DEFAULT_CPUS = 1;
/** QEMU, its TCG cache and the launcher, inside a memory-limited container. */
const TB_SIZE_MIB = 64;
const HOST_OVERHEAD_MIB = 96 + TB_SIZE_MIB;

export class GuestSizeError extends Error {}

export function sizeGuest(requested: { memoryMiB?: number; cpus?: number }, limits: CgroupLimits): GuestSize {
  const notes: string[] = [];
  let memoryMiB = requested.memoryMiB ?? DEFAULT_MEMORY_MIB;
  let tbSizeMiB: number | undefined;
  if (limits.memoryMiB !== undefined) {
    const room = limits.memoryMiB - HOST_OVERHEAD_MIB;
    if (room < GUEST_LIMITS.memoryMiB.min) {
      throw new GuestSizeError(`the container's memory limit (${limits.memoryMiB}M) leaves no room for a guest: ` +
        `QEMU needs about ${HOST_OVERHEAD_MIB}M of its own; give at least ${HOST_OVERHEAD_MIB + GUEST_LIMITS.memoryMiB.min}M`);
    }
    if (requested.memoryMiB === undefined) memoryMiB = room;
    else if (requested.memoryMiB > room) {
      notes.push(`${guestVariable("memoryMiB")}=${requested.memoryMiB}M does not fit the container's ${limits.memoryMiB}M limit; the guest gets ${room}M`);
      memoryMiB = room;
    }
    tbSizeMiB = TB_SIZE_MIB;
  }
  const cpus = requested.cpus ?? Math.min(GUEST_LIMITS.cpus.max, limits.cpus ?? DEFAULT_CPUS);
  return { memoryMiB, cpus, ...(tbSizeMiB === undefined ? {} : { tbSizeMiB }), notes };
}

/** A limit so large it means "none" (cgroup v1 reports unlimited as a huge number). */
const UNLIMITED_BYTES = 2 ** 50;

const readText = (path: string) => readFile(path, "utf8").then((t) => t.trim(), () => undefined);

/** memory.max / cpu.max (cgroup v2) or their v1 equivalents, as whole MiB and vCPUs. */
export async function readCgroupLimits(root = "/sys/fs/cgroup"): Promise<CgroupLimits> {
  const memText = (await readText(`${root}/memory.max`)) ?? (await readText(`${root}/memory/memory.limit_in_bytes`));
  const bytes = memText && /^\d+$/.test(memText) ? Number(memText) : undefined;
  let quota: number | undefined;
  let period: number | undefined;
  const cpuMax = await readText(`${root}/cpu.max`);
  if (cpuMax) {
    const [q, p] = cpuMax.split(/\s+/);
    if (q !== "max") [quota, period] = [Number(q), Number(p)];
  } else {
    const q = Number(await readText(`${root}/cpu/cpu.cfs_quota_us`));
    if (q > 0) [quota, period] = [q, Number(await readText(`${root}/cpu/cpu.cfs_period_us`))];
  }
  return {
    ...(bytes !== undefined && bytes < UNLIMITED_BYTES ? { memoryMiB: Math.floor(bytes / 2 ** 20) } : {}),
    ...(quota && period ? { cpus: Math.max(1, Math.ceil(quota / period)) } : {}),
  };
}
