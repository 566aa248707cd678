/**
 * Which guest arches get their bases built and their end-to-end tests run,
 * and what a request to build bases means.
 * By default the arches Debian has ports of (their bases come from packages)
 * and mips, which keeps the from-source path (kernel, busybox) under test;
 * the other source-built arches each cost minutes of compiling on a first
 * build, so they are added on request: CX_ARCHES=all for every arch, or
 * CX_ARCHES="ppc64 riscv32" for those.
 */
import { ARCH_NAMES, hasDebianBase, isArchName, type ArchName } from "../common/arches.js";

const SOURCE_BUILT_BY_DEFAULT: readonly ArchName[] = ["mips"];

export function selectedArches(env: NodeJS.ProcessEnv = process.env): ArchName[] {
  const asked = (env.CX_ARCHES ?? "").trim();
  if (asked === "all") return [...ARCH_NAMES];
  const names = asked ? asked.split(/[\s,]+/) : [];
  const unknown = names.filter((n) => !isArchName(n));
  if (unknown.length) throw new Error(`CX_ARCHES: unknown arch ${unknown.join(", ")}; known: ${ARCH_NAMES.join(", ")}, or all`);
  return ARCH_NAMES.filter((a) => hasDebianBase(a) || SOURCE_BUILT_BY_DEFAULT.includes(a) || names.includes(a));
}

export type BaseName = `minimal/${ArchName}` | `debian/${ArchName}`;

/**
 * The guest bases a request names, in build order (a Debian base after the
 * minimal base whose kernel it takes), each once. A request is a base name
 * (`minimal/aarch64`, `debian/riscv64`) or `bases`: every selected arch's
 * minimal base and its Debian base where there is one.
 */
export function basesToBuild(requests: readonly string[], env: NodeJS.ProcessEnv = process.env): BaseName[] {
  const wanted = new Set<BaseName>();
  for (const request of requests) {
    if (request === "bases") {
      for (const arch of selectedArches(env)) {
        wanted.add(`minimal/${arch}`);
        if (hasDebianBase(arch)) wanted.add(`debian/${arch}`);
      }
      continue;
    }
    const [flavour, arch = ""] = request.split("/");
    if ((flavour !== "minimal" && flavour !== "debian") || !isArchName(arch)) {
      throw new Error(`unknown guest base '${request}': ask for minimal/<arch> or debian/<arch> (arches: ${ARCH_NAMES.join(", ")}), or bases for all of CX_ARCHES`);
    }
    if (flavour === "debian" && !hasDebianBase(arch)) {
      throw new Error(`there is no debian/${arch}: Debian bases exist for ${ARCH_NAMES.filter(hasDebianBase).join(", ")}`);
    }
    wanted.add(`minimal/${arch}`);
    wanted.add(`${flavour}/${arch}`);
  }
  const order = (b: BaseName) => (b.startsWith("minimal/") ? 0 : 1);
  return [...wanted].sort((a, b) => order(a) - order(b));
}
