/**
 * Which guest arches get their bases built and their end-to-end tests run.
 * Always the arches Debian has ports of (their bases come from packages, and
 * the rest of the suite uses them) and mips, which keeps the from-source path
 * (kernel, busybox) under test; the other source-built arches each cost
 * minutes of compiling on a first build, so they are added on request:
 * CX_ARCHES=all for every arch, or CX_ARCHES="ppc64 riscv32" for those.
 */
import { ARCHES, ARCH_NAMES, isArchName, type ArchName, type GuestArch } from "../common/arches.js";

const SOURCE_BUILT_BY_DEFAULT: readonly ArchName[] = ["mips"];

export function selectedArches(env: NodeJS.ProcessEnv = process.env): ArchName[] {
  const asked = (env.CX_ARCHES ?? "").trim();
  if (asked === "all") return [...ARCH_NAMES];
  const names = asked ? asked.split(/[\s,]+/) : [];
  const unknown = names.filter((n) => !isArchName(n));
  if (unknown.length) throw new Error(`CX_ARCHES: unknown arch ${unknown.join(", ")}; known: ${ARCH_NAMES.join(", ")}, or all`);
  return ARCH_NAMES.filter((a) => (ARCHES[a] as GuestArch).minimal.from === "debian-port" || SOURCE_BUILT_BY_DEFAULT.includes(a) || names.includes(a));
}
