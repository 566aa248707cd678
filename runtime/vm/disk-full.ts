import { statfs } from "node:fs/promises";
import { dirname } from "node:path";
import type { QmpSession } from "./qmp.js";

/** Below this much room, a write QEMU failed is taken to have failed for want of space. */
const NEARLY_FULL_BYTES = 64 * 2 ** 20;

/** What to do when a build step ran out of room: inside the step, paths are the builder's, not the user's. */
export const BUILD_DISK_HINT = "a build writes to the builder's storage (Docker's data root, /var/lib/docker by default): " +
  "free space there (docker builder prune; docker system df shows what uses it) and build again";

async function freeBytes(path: string): Promise<number | undefined> {
  try {
    const fs = await statfs(path);
    return fs.bavail * fs.bsize;
  } catch {
    return undefined;
  }
}

function room(path: string, free: number | undefined): string {
  return free === undefined ? path : `${path}: ${(free / 2 ** 20).toFixed(0)} MiB free`;
}

/** A reason naming the disk when the filesystem holding `file` is (nearly) full; undefined when it has room. */
export async function nearlyFullReason(what: string, file: string): Promise<string | undefined> {
  const dir = dirname(file);
  const free = await freeBytes(dir);
  if (free === undefined || free >= NEARLY_FULL_BYTES) return undefined;
  return `no space left on the disk holding ${what} (${room(dir, free)})`;
}

/**
 * Calls `full` with a one-line reason when QEMU stops the guest because a
 * write to its disk found no space (the drive's default werror=enospc pauses
 * the guest and says so only on QMP): without this the guest waits, paused,
 * for ever.
 */
export function watchDiskFull(qmp: QmpSession, disk: string, full: (reason: string) => void): void {
  qmp.onEvent((event, data) => {
    if (event !== "BLOCK_IO_ERROR" || data.nospace !== true) return;
    void freeBytes(dirname(disk)).then((free) =>
      full(`no space left on the disk holding the guest's disk (${room(dirname(disk), free)}): QEMU paused the guest when a write to it failed`));
  });
}
