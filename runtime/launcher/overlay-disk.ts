import { execFile } from "node:child_process";
import { dirname } from "node:path";
import { promisify } from "node:util";

/**
 * A qcow2 at `path` over `backing` (absolute, or relative to path's directory).
 * Plain execFile, not common/run (execa): loading execa adds ~150 ms to every
 * container start and build step.
 */
export async function createOverlayDisk(path: string, backing: string): Promise<void> {
  await promisify(execFile)("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", backing, path], { cwd: dirname(path) })
    .catch((err: { stderr?: string; message: string }) => {
      throw new Error(`cannot create ${path} over ${backing}: ${err.stderr?.trim() || err.message}`);
    });
}
