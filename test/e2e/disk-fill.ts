/**
 * Fills the disk under Docker's data root to a few MiB for a fault test,
 * with one file of reserved blocks (fallocate: instant, writes nothing).
 * leftovers.ts removes a fill a killed run left behind.
 */
import { open, rm, statfs } from "node:fs/promises";
import { join } from "node:path";
import { run, runCapture } from "../../common/run.js";
import { docker } from "./docker.js";

const FILL_NAME = "cx-e2e-disk-fill";

/** Where the fill goes: inside Docker's data root, so surely on its filesystem. */
export async function diskFillPath(): Promise<string> {
  const info = await docker(["info", "--format", "{{.DockerRootDir}}"]);
  if (info.exitCode !== 0) throw new Error(`docker info: ${info.stderr.trim()}`);
  return join(info.stdout.trim(), FILL_NAME);
}

/** Free bytes as root sees them (with the filesystem's reserve) and as others do. */
async function freeBytes(path: string): Promise<{ root: number; others: number }> {
  const fs = await statfs(path);
  return { root: fs.bfree * fs.bsize, others: fs.bavail * fs.bsize };
}

/**
 * Leaves about `leaveMiB` free on the data root's filesystem until the
 * returned function is called. Whether dockerd may write into the
 * filesystem's reserve (root with CAP_SYS_RESOURCE) is found by trying: the
 * fill runs as root too.
 */
export async function fillDisk(leaveMiB: number): Promise<() => Promise<void>> {
  const path = await diskFillPath();
  const dir = join(path, "..");
  const leave = leaveMiB * 2 ** 20;
  const release = () => rm(path, { force: true });
  try {
    let which: "root" | "others" = "root";
    let size = (await freeBytes(dir)).root - leave;
    if ((await runCapture("fallocate", ["-l", String(size), path])).exitCode !== 0) {
      await release();
      which = "others";
      size = (await freeBytes(dir)).others - leave;
      await run("fallocate", ["-l", String(size), path]);
    }
    // Metadata and other writers move the figure a little: trim until it is right.
    for (let i = 0; i < 5; i++) {
      const short = leave - (await freeBytes(dir))[which];
      if (short < leave / 10) break;
      size -= short;
      const file = await open(path, "r+");
      await file.truncate(size);
      await file.close();
    }
  } catch (err) {
    await release();
    throw err;
  }
  return release;
}
