import { ARCH_NAMES, isArchName, type ArchName } from "../../common/arches.js";
import { CxfileError } from "../cxfile/errors.js";
import type { CxfileSpec } from "../cxfile/spec.js";
import { normalizeImageRef } from "./image-ref.js";
import type { Platform } from "./platform.js";

/** Guest-base flavours the project publishes, by name in `base:`. */
export const BASE_FLAVOURS = ["minimal"] as const;

/** Everything the LLB conversion needs, decided and validated. */
export interface BuildPlan {
  readonly arch: ArchName;
  /** The name the user wrote, e.g. minimal/aarch64. */
  readonly baseName: string;
  readonly baseImage: string;
  readonly runtimeImage: string;
  readonly hostPlatform: Platform;
  readonly copies: readonly { readonly src: string; readonly dest: string; readonly mode?: number }[];
  /** Context paths to transfer: only what `copy` names. */
  readonly contextPaths: readonly string[];
  readonly app: {
    readonly entrypoint: readonly string[];
    readonly cmd: readonly string[];
    readonly env: readonly string[];
    readonly workdir: string;
  };
}

export interface PlanOptions {
  readonly hostPlatform: Platform;
  /** Where the project's images come from; the local store by default. */
  readonly imagePrefix: string;
  readonly runtimeTag: string;
}

/** The PATH a guest app gets unless the Cxfile sets its own. */
export const GUEST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export function planBuild(spec: CxfileSpec, opts: PlanOptions): BuildPlan {
  const [flavour, arch, ...rest] = spec.base.name.split("/");
  const valid = BASE_FLAVOURS.flatMap((f) => ARCH_NAMES.map((a) => `${f}/${a}`));
  if (rest.length || !BASE_FLAVOURS.includes(flavour as (typeof BASE_FLAVOURS)[number]) || !arch || !isArchName(arch)) {
    throw new CxfileError(spec.file, spec.base.pos, `unknown base '${spec.base.name}'`, `available: ${valid.join(", ")}`);
  }
  const env = Object.entries({ PATH: GUEST_PATH, ...spec.env }).map(([k, v]) => `${k}=${v}`);
  return {
    arch,
    baseName: spec.base.name,
    baseImage: normalizeImageRef(`${opts.imagePrefix}${flavour}:${arch}`),
    runtimeImage: normalizeImageRef(`${opts.imagePrefix}runtime:${opts.runtimeTag}`),
    hostPlatform: opts.hostPlatform,
    copies: spec.copy.map(({ src, dest, mode }) => ({ src, dest, ...(mode === undefined ? {} : { mode }) })),
    contextPaths: [...new Set(spec.copy.map((c) => c.src))].sort(),
    app: {
      entrypoint: spec.entrypoint ?? [],
      cmd: spec.cmd ?? [],
      env,
      workdir: spec.workdir ?? "/",
    },
  };
}
