import { execFile } from "node:child_process";
import { dirname } from "node:path";
import { promisify } from "node:util";
import { guestVariable } from "../../common/guest-env.js";

const MiB = 1024 * 1024;

async function qemuImg(args: string[], cwd: string): Promise<string> {
  const { stdout } = await promisify(execFile)("qemu-img", args, { cwd });
  return stdout;
}

/**
 * A qcow2 at `path` over `backing` (absolute, or relative to path's
 * directory), as large as `sizeMiB` when given (CX_DISK_SIZE): never smaller
 * than the backing disk. Plain execFile, not common/run (execa): loading
 * execa adds ~150 ms to every container start and build step.
 */
export async function createOverlayDisk(path: string, backing: string, sizeMiB?: number): Promise<void> {
  const cwd = dirname(path);
  const fail = (err: { stderr?: string; message: string }) => {
    throw new Error(`cannot create ${path} over ${backing}: ${err.stderr?.trim() || err.message}`);
  };
  let size: string[] = [];
  if (sizeMiB !== undefined) {
    const info = JSON.parse(await qemuImg(["info", "--output=json", "-U", backing], cwd).catch(fail)) as { "virtual-size": number };
    const minMiB = Math.ceil(info["virtual-size"] / MiB);
    // The guest's filesystem fills the image's disk and cannot shrink.
    if (sizeMiB < minMiB) {
      throw new Error(`${guestVariable("diskMiB")}=${sizeMiB}M (or the Cxfile's guest.disk_size) is smaller than the image's guest disk: the minimum is ${minMiB}M`);
    }
    size = [`${sizeMiB}M`];
  }
  await qemuImg(["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", backing, path, ...size], cwd).catch(fail);
}
