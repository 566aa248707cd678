/**
 * The container's state directory (its disk, QMP and agent sockets) must be
 * writable. Under `docker run --read-only`, or a non-root user without a
 * writable /tmp, it is not: say which path and how to give it, in one line.
 */
import { constants } from "node:fs";
import { access, mkdir } from "node:fs/promises";

export class StateDirError extends Error {}

/** The mount a user would add for `dir`: /tmp for the non-root default under it, else the directory itself. */
const mountFor = (dir: string) => (dir === "/tmp" || dir.startsWith("/tmp/") ? "/tmp" : dir);

export function stateDirProblem(dir: string, code: string | undefined): string {
  const why = code === "EROFS" ? "read-only file system" : code === "EACCES" || code === "EPERM" ? "permission denied" : code ?? "unknown error";
  return `the container's state directory ${dir} is not writable (${why}): give the container a writable ${mountFor(dir)} ` +
    `(docker run --tmpfs ${mountFor(dir)}, or a volume there), or set CX_STATE_DIR to a writable directory`;
}

export async function prepareStateDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
  } catch (err) {
    throw new StateDirError(stateDirProblem(dir, (err as NodeJS.ErrnoException).code));
  }
}
