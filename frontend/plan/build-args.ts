/**
 * Which --build-arg values a Cxfile leaves unused. As for Dockerfiles, a
 * build arg reaches the build only when `args:` declares it; the ones BuildKit,
 * Docker or Containerx read themselves are not the Cxfile's to declare.
 */
import { isProxyVariable } from "../../common/proxy.js";
import type { CxfileSpec } from "../cxfile/spec.js";

/** Build args the frontend reads itself (build.ts): where images come from, and reproducible times. */
export const FRONTEND_BUILD_ARGS = ["CX_IMAGE_PREFIX", "CX_RUNTIME_TAG", "SOURCE_DATE_EPOCH"] as const;

const readElsewhere = (name: string) =>
  isProxyVariable(name) || name.startsWith("BUILDKIT_") || (FRONTEND_BUILD_ARGS as readonly string[]).includes(name);

/** The build args given that neither `args:` nor anyone else uses, sorted. */
export function unusedBuildArgs(buildArgs: ReadonlyMap<string, string>, spec: Pick<CxfileSpec, "args">): string[] {
  const declared = new Set(spec.args.map((a) => a.name));
  return [...buildArgs.keys()].filter((name) => !declared.has(name) && !readElsewhere(name)).sort();
}
