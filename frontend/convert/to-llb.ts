import { LAYOUT } from "../../common/layout.js";
import type { BuildPlan } from "../plan/plan.js";
import { copy, exec, image, local } from "../llb/ops.js";
import type { Output } from "../llb/graph.js";

/** Where the build context is mounted in the populate step. */
const CONTEXT_MOUNT = "/cx/context";

export interface ConvertOptions {
  readonly sessionId: string;
  readonly contextName: string;
}

/**
 * The app image as LLB, three layers over the runtime image:
 *   runtime (QEMU, launcher)  ← docker-image source
 *   + OS base (/cx/base)      ← copied from the guest-base image
 *   + app overlay (/cx/app)   ← qcow2 over the base, made by cx-populate
 * The base layer's content is the same for every app on that base, so the
 * exported layer is shared between them.
 */
export function planToLLB(plan: BuildPlan, opts: ConvertOptions): Output {
  const platform = plan.hostPlatform;
  const runtime = image(plan.runtimeImage, platform, `[runtime] ${plan.runtimeImage}`);
  const base = image(plan.baseImage, platform, `[base] fetch OS base ${plan.baseName}`);
  const context = local(opts.contextName, {
    sessionId: opts.sessionId,
    includePatterns: plan.contextPaths,
    sharedKeyHint: opts.contextName,
  }, `[context] load ${plan.contextPaths.length} path(s) from the build context`);

  const request = {
    base: LAYOUT.baseDisk,
    backing: LAYOUT.appBacking,
    out: LAYOUT.appDisk,
    copies: plan.copies.map((c) => ({
      source: `${CONTEXT_MOUNT}/${c.src}`,
      dest: c.dest,
      ...(c.mode === undefined ? {} : { mode: c.mode }),
    })),
  };
  const [overlay] = exec({
    root: runtime,
    args: [LAYOUT.populate, JSON.stringify(request)],
    env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
    mounts: [
      { dest: LAYOUT.baseDir, from: base, selector: LAYOUT.baseDir, readonly: true },
      { dest: CONTEXT_MOUNT, from: context, readonly: true },
      { dest: LAYOUT.appDir, output: true },
      // The root is read-only; the raw disk copies need scratch space.
      { dest: "/tmp" },
    ],
    platform,
    network: "none",
    name: `[overlay] create app overlay: qemu-img create -b ${LAYOUT.appBacking}, write ${plan.copies.length} copy entr${plan.copies.length === 1 ? "y" : "ies"}`,
  });

  const withBase = copy(runtime, base, { src: LAYOUT.baseDir, dest: LAYOUT.baseDir, contents: true }, platform,
    `[image] add OS base layer ${plan.baseName}`);
  return copy(withBase, overlay, { src: "/", dest: LAYOUT.appDir, contents: true }, platform, "[image] add app overlay layer");
}
