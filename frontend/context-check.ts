/**
 * Copy sources missing from where they are taken (the build context, a
 * named context, an image) fail at their Cxfile line before anything is
 * built: otherwise only the populate step would find out, after every run
 * step's guest has booted.
 */
import { posix } from "node:path";
import { expandGlob, type ListDir } from "../common/glob.js";
import { CxfileError } from "./cxfile/errors.js";
import type { CopySpec } from "./cxfile/spec.js";
import type { Gateway } from "./gateway/client.js";

async function exists(list: ListDir, src: string): Promise<boolean> {
  const path = posix.normalize(src).replace(/\/+$/, "");
  if (path === "." || path === "") return true;
  for (const match of await expandGlob(list, path)) {
    if ((await list(posix.dirname(match) === "." ? "" : posix.dirname(match))).includes(posix.basename(match))) return true;
  }
  return false;
}

/**
 * `sources` holds the definition of each place copies take files from (the
 * build context under `undefined`), the same ops the build then solves, so
 * BuildKit fetches each once.
 */
export async function checkCopySources(gateway: Gateway, copies: readonly CopySpec[], sources: ReadonlyMap<string | undefined, object>,
  file: string): Promise<void> {
  for (const [from, definition] of sources) {
    const mine = copies.filter((c) => c.from === from);
    if (mine.length === 0) continue;
    const ref = await gateway.solve(definition);
    const listed = new Map<string, Promise<string[]>>();
    const list: ListDir = (dir) => {
      if (!listed.has(dir)) listed.set(dir, gateway.readDir(ref, dir || ".").catch(() => []));
      return listed.get(dir)!;
    };
    for (const copy of mine) {
      if (await exists(list, copy.src)) continue;
      throw from === undefined
        ? new CxfileError(file, copy.pos, `copy: ${copy.src}: not found in the build context`,
          "context paths are relative to the context directory; check .dockerignore does not exclude it")
        : new CxfileError(file, copy.pos, `copy: ${copy.src}: not found in '${from}'`,
          "paths in a named context or an image are written from its root");
    }
  }
}
