/**
 * What each end-to-end test file needs built before it runs: the guest bases
 * (bootstrap/images.sh's requests) and whether it builds for every host
 * platform. The test command (test/run-all.sh) asks this file, so running a
 * few files sets up only what they use:
 *
 *   node dist/test/e2e/needs.js images [NAME…]  the images.sh arguments
 *   node dist/test/e2e/needs.js files [NAME…]   the compiled test files
 *
 * NAME is a file's name without .test.ts (hello, registry …); none means all.
 */
import { selectedArches } from "../../guest-bases/arch-selection.js";

export interface Needs {
  readonly bases: readonly string[];
  /** Builds and pushes images for every host platform (common/host-platforms.ts). */
  readonly allPlatforms?: true;
}

const HELLO: Needs = { bases: ["minimal/aarch64"] };

export const E2E_NEEDS: Readonly<Record<string, Needs>> = {
  hello: HELLO,
  // Every Debian base: examples/debian-jq installs jq on each.
  cxfile: { bases: ["minimal/aarch64", "debian/aarch64", "debian/riscv64", "debian/arm", "debian/x86_64"] },
  arches: { bases: selectedArches().map((a) => `minimal/${a}`) },
  "build-habits": HELLO,
  "disk-base": HELLO,
  "own-os": HELLO,
  registry: { bases: ["minimal/aarch64"], allPlatforms: true },
  runtime: HELLO,
  snapshot: HELLO,
};

export function selected(names: readonly string[]): string[] {
  const unknown = names.filter((n) => !(n in E2E_NEEDS));
  if (unknown.length) throw new Error(`no end-to-end test file named ${unknown.join(", ")}; known: ${Object.keys(E2E_NEEDS).join(", ")}`);
  return names.length ? [...names] : Object.keys(E2E_NEEDS);
}

export function imagesArgs(names: readonly string[]): string[] {
  const needs = selected(names).map((n) => E2E_NEEDS[n]!);
  const bases = [...new Set(needs.flatMap((n) => n.bases))];
  return [...(needs.some((n) => n.allPlatforms) ? ["--platforms", "all"] : []), ...bases];
}

if (process.argv[1]?.endsWith("/needs.js")) {
  const [what, ...names] = process.argv.slice(2);
  try {
    if (what === "images") console.log(imagesArgs(names).join("\n"));
    else if (what === "files") console.log(selected(names).map((n) => `dist/test/e2e/${n}.test.js`).join("\n"));
    else throw new Error("usage: needs.js images|files [NAME…]");
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
}
