/**
 * Copy sources the build context lacks fail at their Cxfile line before
 * anything is built: otherwise only the populate step would find out, after
 * every run step's guest has booted.
 */
import { posix } from "node:path";
import { expandGlob, type ListDir } from "../common/glob.js";
import { CxfileError } from "./cxfile/errors.js";
import type { Gateway } from "./gateway/client.js";
import type { BuildPlan } from "./plan/plan.js";

async function exists(list: ListDir, src: string): Promise<boolean> {
  const path = posix.normalize(src).replace(/\/+$/, "");
  if (path === "." || path === "") return true;
  for (const match of await expandGlob(list, path)) {
    if ((await list(posix.dirname(match) === "." ? "" : posix.dirname(match))).includes(posix.basename(match))) return true;
  }
  return false;
}

/** `context` is the solved definition of the app's context (convert/to-llb.ts appContext), which the build then reuses. */
export async function checkCopySources(gateway: Gateway, plan: BuildPlan, context: object, file: string): Promise<void> {
  if (plan.copies.length === 0) return;
  const ref = await gateway.solve(context);
  const listed = new Map<string, Promise<string[]>>();
  const list: ListDir = (dir) => {
    if (!listed.has(dir)) listed.set(dir, gateway.readDir(ref, dir || ".").catch(() => []));
    return listed.get(dir)!;
  };
  for (const copy of plan.copies) {
    if (!(await exists(list, copy.src))) {
      throw new CxfileError(file, copy.pos, `copy: ${copy.src}: not found in the build context`,
        "context paths are relative to the context directory; check .dockerignore does not exclude it");
    }
  }
}
