import { LAYOUT } from "../../common/layout.js";
import type { BuildPlan } from "../plan/plan.js";

/** The parts of an OCI image config Containerx reads from the runtime image. */
export interface BaseImageConfig {
  readonly history?: readonly Record<string, unknown>[];
}

export const CONTAINERX_VERSION = "0.1.0";

/**
 * The app image's OCI config. The container's entrypoint is always the
 * launcher; the app's own entrypoint travels in CX_ENTRYPOINT so that
 * `docker run IMAGE args…` replaces the app's cmd the way users expect.
 */
export function imageConfig(plan: BuildPlan, runtime: BaseImageConfig): Record<string, unknown> {
  const p = plan.hostPlatform;
  return {
    architecture: p.architecture,
    os: p.os,
    ...(p.variant ? { variant: p.variant } : {}),
    config: {
      Entrypoint: [LAYOUT.launcher],
      Cmd: [...plan.app.cmd],
      Env: [...plan.app.env, `CX_ENTRYPOINT=${JSON.stringify(plan.app.entrypoint)}`],
      WorkingDir: plan.app.workdir,
      Labels: {
        "org.containerx.guest.arch": plan.arch,
        "org.containerx.base": plan.baseName,
        "org.containerx.version": CONTAINERX_VERSION,
      },
    },
    rootfs: { type: "layers", diff_ids: [] },
    history: [
      ...(runtime.history ?? []),
      { created_by: `containerx: OS base ${plan.baseName} (${plan.baseImage})`, comment: "containerx.base" },
      { created_by: `containerx: app overlay, ${plan.copies.length} copy entries`, comment: "containerx.overlay" },
    ],
  };
}
