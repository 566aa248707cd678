/**
 * The container's state directory (its disk, QMP and agent sockets) must be
 * writable. Under `docker run --read-only`, or a non-root user without a
 * writable /tmp, it is not: say which path and how to give it, in one line.
 */
import { constants } from "node:fs";
import { access, mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { exists } from "../../common/exists.js";

export class StateDirError extends Error {}

/** The mount a user would add for `dir`: /tmp for the non-root default under it, else the directory itself. */
const mountFor = (dir: string) => (dir === "/tmp" || dir.startsWith("/tmp/") ? "/tmp" : dir);

const REASONS: Readonly<Record<string, string>> = {
  EROFS: "read-only file system", EACCES: "permission denied", EPERM: "permission denied", ENOENT: "it cannot be created there", ENOTDIR: "a parent is not a directory",
};

export function stateDirProblem(dir: string, code: string | undefined): string {
  const why = (code && REASONS[code]) ?? code ?? "unknown error";
  return `the container's state directory ${dir} is not writable (${why}): give the container a writable ${mountFor(dir)} ` +
    `(docker run --tmpfs ${mountFor(dir)}, or a volume there), or set CX_STATE_DIR to a writable directory`;
}

const errorCode = (err: unknown) => (err as NodeJS.ErrnoException).code;

/**
 * Why `dir` cannot be made or written: the nearest existing ancestor's
 * refusal to be written (EROFS under --read-only), else the error itself.
 */
async function whyNot(dir: string, err: unknown): Promise<string | undefined> {
  let probe = dirname(dir);
  while (probe !== dirname(probe) && !(await exists(probe))) probe = dirname(probe);
  return (await access(probe, constants.W_OK).then(() => undefined, errorCode)) ?? errorCode(err);
}

/** mkdir -p a level at a time: Node's recursive mkdir spins forever where a parent refuses a child with ENOENT (under /proc). */
async function makeDirs(dir: string): Promise<void> {
  const parent = dirname(dir);
  if (parent !== dir && !(await exists(parent))) await makeDirs(parent);
  await mkdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "EEXIST") throw err;
  });
}

export async function prepareStateDir(dir: string): Promise<void> {
  try {
    await makeDirs(dir);
    await access(dir, constants.W_OK);
  } catch (err) {
    throw new StateDirError(stateDirProblem(dir, await whyNot(dir, err)));
  }
}
