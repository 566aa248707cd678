import { ARCHES, type ArchName, type GuestArch } from "../../common/arches.js";

/** An OCI platform: where the built container runs (not the guest arch). */
export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

export function parsePlatform(text: string): Platform {
  const [os, architecture, variant] = text.trim().split("/");
  if (!os || !architecture) throw new Error(`invalid platform '${text}': expected os/arch[/variant]`);
  return { os, architecture, ...(variant ? { variant } : {}) };
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join("/");
}

/** The platform as an OCI descriptor and BuildKit's refs.platforms spell it. */
export function ociPlatform(p: Platform): { architecture: string; os: string; variant?: string } {
  return { architecture: p.architecture, os: p.os, ...(p.variant ? { variant: p.variant } : {}) };
}

/** The platform of the guest's own programs: what an image copied into the guest must be built for. */
export function guestPlatform(arch: ArchName): Platform {
  const a = ARCHES[arch] as GuestArch;
  return { os: "linux", architecture: a.ociArch, ...(a.ociVariant ? { variant: a.ociVariant } : {}) };
}

const NODE_TO_OCI: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };

export function platformOfNode(nodeArch: string): Platform {
  return { os: "linux", architecture: NODE_TO_OCI[nodeArch] ?? nodeArch };
}
