/**
 * Which guest arches get their bases built and their end-to-end tests run,
 * and what a request to build bases means.
 * By default the four arches of the first Debian ports (their bases come
 * from packages) and mips, which keeps the from-source path (kernel,
 * busybox) under test: what CI runs within its budget. Every other arch
 * costs minutes of downloading or compiling on a first build and is added
 * on request: CX_ARCHES=all for every arch, or CX_ARCHES="ppc64 i386" for
 * those.
 */
import { ARCH_NAMES, hasDebianBase, isArchName, type ArchName } from "../common/arches.js";

const BY_DEFAULT: readonly ArchName[] = ["aarch64", "arm", "riscv64", "x86_64", "mips"];

export function selectedArches(env: NodeJS.ProcessEnv = process.env): ArchName[] {
  const asked = (env.CX_ARCHES ?? "").trim();
  if (asked === "all") return [...ARCH_NAMES];
  const names = asked ? asked.split(/[\s,]+/) : [];
  const unknown = names.filter((n) => !isArchName(n));
  if (unknown.length) throw new Error(`CX_ARCHES: unknown arch ${unknown.join(", ")}; known: ${ARCH_NAMES.join(", ")}, or all`);
  return ARCH_NAMES.filter((a) => BY_DEFAULT.includes(a) || names.includes(a));
}

/** The selected arches with a Debian base (debian/<arch>). */
export const selectedDebianArches = (env: NodeJS.ProcessEnv = process.env): ArchName[] => selectedArches(env).filter(hasDebianBase);

export type BaseName = `minimal/${ArchName}` | `debian/${ArchName}`;

const RUNTIME_REQUEST = "runtime/";

function checkedArch(request: string): ArchName {
  const arch = request.slice(request.indexOf("/") + 1);
  if (!isArchName(arch)) throw new Error(`unknown arch in '${request}' (arches: ${ARCH_NAMES.join(", ")})`);
  return arch;
}

/**
 * The arches whose runtime images (containerx/runtime:<arch>) a request
 * needs: each base's arch, `runtime/<arch>` for a guest with a base of its
 * own (a disk or firmware of the app's), every selected arch for `bases`,
 * and for no request at all.
 */
export function runtimeArches(requests: readonly string[], env: NodeJS.ProcessEnv = process.env): ArchName[] {
  const wanted = new Set<ArchName>(requests.length ? [] : selectedArches(env));
  for (const request of requests) {
    if (request.startsWith(RUNTIME_REQUEST)) wanted.add(checkedArch(request));
    else for (const base of basesToBuild([request], env)) wanted.add(checkedArch(base));
  }
  return ARCH_NAMES.filter((a) => wanted.has(a));
}

/**
 * The guest bases a request names, in build order (a Debian base after the
 * minimal base whose kernel it takes), each once. A request is a base name
 * (`minimal/aarch64`, `debian/riscv64`) or `bases`: every selected arch's
 * minimal base and its Debian base where there is one; `runtime/<arch>`
 * names no base (runtimeArches).
 */
export function basesToBuild(requests: readonly string[], env: NodeJS.ProcessEnv = process.env): BaseName[] {
  const wanted = new Set<BaseName>();
  for (const request of requests) {
    if (request.startsWith(RUNTIME_REQUEST)) continue;
    if (request === "bases") {
      for (const arch of selectedArches(env)) {
        wanted.add(`minimal/${arch}`);
        if (hasDebianBase(arch)) wanted.add(`debian/${arch}`);
      }
      continue;
    }
    const [flavour, arch = ""] = request.split("/");
    if ((flavour !== "minimal" && flavour !== "debian") || !isArchName(arch)) {
      throw new Error(`unknown guest base '${request}': ask for minimal/<arch> or debian/<arch> (arches: ${ARCH_NAMES.join(", ")}), bases for all of CX_ARCHES, or runtime/<arch> for an arch's runtime alone`);
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
