/**
 * The images a build runs on, checked before anything is built: the guest
 * base (its arch label, and that it exists at all) and the runtime, each
 * replaceable by name with --build-context NAME=docker-image://REF.
 */
import { CxfileError } from "./cxfile/errors.js";
import type { CxfileSpec } from "./cxfile/spec.js";
import type { Gateway } from "./gateway/client.js";
import { imageOverride } from "./gateway/named-contexts.js";
import { normalizeImageRef } from "./plan/image-ref.js";
import type { BuildPlan } from "./plan/plan.js";
import type { Platform } from "./plan/platform.js";

const BASE_ARCH_LABEL = "org.containerx.base.arch";

/** The guest arch an image base declares, for `base: { image: … }`. */
export async function imageBaseArch(gateway: Gateway, spec: CxfileSpec, platform: Platform, opts: ReadonlyMap<string, string>,
  sessionId: string): Promise<string | undefined> {
  const base = spec.base;
  if (base.kind !== "image") return undefined;
  const ref = imageOverride(opts, normalizeImageRef(base.ref), sessionId, platform);
  const resolved = await gateway.resolveImageConfig(ref, platform, `[base] resolve ${ref}`).catch((err: Error) => {
    throw new CxfileError(spec.file, base.pos, `cannot resolve base image '${base.ref}': ${err.message}`);
  });
  const config = JSON.parse(resolved.config.toString("utf8") || "{}") as { config?: { Labels?: Record<string, string> } };
  return config.config?.Labels?.[BASE_ARCH_LABEL] ?? "";
}

/**
 * A named base (minimal/aarch64) or the base lending a disk its kernel must
 * exist before anything is built; BuildKit's own error for a missing one is
 * a pull error from a registry the user never named.
 */
export async function checkPublishedBase(gateway: Gateway, spec: CxfileSpec, plan: BuildPlan, platform: Platform): Promise<void> {
  if (plan.baseImage === undefined || spec.base.kind === "image") return;
  await gateway.resolveImageConfig(plan.baseImage, platform, `[base] resolve ${plan.baseImage}`).catch((err: Error) => {
    throw new CxfileError(spec.file, spec.base.pos, `the guest base image ${plan.baseImage} is not available: ${err.message}`,
      `build it on this machine with bootstrap/images.sh ${spec.base.kind === "named" ? plan.baseName : `minimal/${plan.arch}`}, ` +
      "or take it from a mirror made with bootstrap/publish.sh: --build-arg CX_IMAGE_PREFIX=REGISTRY/PATH/");
  });
}

/** The base and runtime images as the build pulls them: --build-context NAME=docker-image://REF replaces them by name. */
export function withImageOverrides(plan: BuildPlan, opts: ReadonlyMap<string, string>, sessionId: string): BuildPlan {
  return {
    ...plan,
    runtimeImage: imageOverride(opts, plan.runtimeImage, sessionId),
    ...(plan.baseImage === undefined ? {} : { baseImage: imageOverride(opts, plan.baseImage, sessionId, plan.buildPlatform) }),
  };
}
