/**
 * Whether the Debian mirror the guests use can serve one suite's package
 * index for one architecture, checked from the host the way apt checks it in
 * the guest: the file's SHA-256 against the signed InRelease. A mirror caught
 * between two syncs serves a Packages.xz of another generation, and apt in
 * the guest rightly refuses it; tests that install packages tell that apart
 * from a failure of their own.
 */
import { createHash } from "node:crypto";
import { debianMirror } from "../../guest-bases/debian-packages.js";

export interface MirrorIndex {
  readonly url: string;
  /** Why apt would refuse the index, or undefined when it would take it. */
  readonly problem?: string;
}

export async function mainIndex(suite: string, debianArch: string): Promise<MirrorIndex> {
  const mirror = (await debianMirror()).replace(/\/$/, "");
  const file = `main/binary-${debianArch}/Packages.xz`;
  const url = `${mirror}/dists/${suite}/${file}`;
  const release = await (await fetch(`${mirror}/dists/${suite}/InRelease`)).text();
  const sha256Section = release.split(/^SHA256:$/m)[1] ?? "";
  const listed = new RegExp(`^ ([0-9a-f]{64})\\s+(\\d+) ${file.replace(/\./g, "\\.")}$`, "m").exec(sha256Section);
  if (!listed) return { url, problem: `${suite}'s InRelease does not list ${file}` };
  const served = Buffer.from(await (await fetch(url)).arrayBuffer());
  const sha256 = createHash("sha256").update(served).digest("hex");
  if (sha256 === listed[1]) return { url };
  return { url, problem: `the mirror serves ${served.length} bytes with SHA-256 ${sha256.slice(0, 12)}…, its InRelease lists ${listed[2]} bytes with ${listed[1].slice(0, 12)}…` };
}
