/**
 * What each end-to-end test file needs built before it runs: the guest bases
 * and runtimes (bootstrap/images.sh's requests) and whether it builds for
 * every host platform. The test command (test/run-all.sh) asks this file, so
 * running a few files sets up only what they use:
 *
 *   node dist/test/e2e/needs.js images [NAME…]  the images.sh runs, one per line
 *   node dist/test/e2e/needs.js files [NAME…]   the compiled test files
 *   node dist/test/e2e/needs.js packages [NAME…] the host packages they drive besides Docker
 *
 * NAME is a file's name without .test.ts (hello, registry …); none means all.
 */
import { selectedArches, selectedDebianArches } from "../../guest-bases/arch-selection.js";
import { uBootArches } from "./u-boot.js";

export interface Needs {
  /** images.sh requests: guest bases (with their arches' runtimes), and runtime/<arch> for an arch with no base used. */
  readonly bases: readonly string[];
  /** Builds and pushes images for every host platform (common/host-platforms.ts). */
  readonly allPlatforms?: true;
  /** Debian packages of the host the file drives besides Docker (bootstrap/host.sh installs them). */
  readonly hostPackages?: readonly string[];
}

const HELLO: Needs = { bases: ["minimal/aarch64"] };

export const E2E_NEEDS: Readonly<Record<string, Needs>> = {
  hello: HELLO,
  // Every selected Debian base: examples/debian-jq installs jq on each.
  cxfile: { bases: ["minimal/aarch64", ...selectedDebianArches().map((a) => `debian/${a}`)] },
  arches: { bases: selectedArches().map((a) => `minimal/${a}`) },
  "build-habits": HELLO,
  "disk-base": HELLO,
  // UEFI on aarch64 and x86_64, U-Boot on each selected arch's machine that Debian builds it for.
  "own-os": { bases: ["minimal/aarch64", ...uBootArches().map(([a]) => `runtime/${a}`).filter((r) => r !== "runtime/aarch64")] },
  registry: { bases: ["minimal/aarch64"], allPlatforms: true },
  runtime: HELLO,
  snapshot: HELLO,
  hardening: HELLO,
  // gdb-multiarch on a resumed aarch64 guest and a booted big-endian mips one, and on an app under gdbserver in debian/aarch64.
  debugger: { bases: ["minimal/aarch64", "minimal/mips", "debian/aarch64"], hostPackages: ["gdb-multiarch"] },
  serial: HELLO,
  // The screen on each selected arch with Debian's kernel (its app compiled by the cross compilers its base was built with; x86_64's is the host's gcc); mips's base has no screen driver.
  display: { bases: ["minimal/mips", ...selectedDebianArches().map((a) => `minimal/${a}`)], hostPackages: ["gcc", "libc6-dev"] },
  // Other engines run the same images: containerd's ctr (Docker's own containerd), podman rootful, rootless and kube play.
  engines: { ...HELLO, hostPackages: ["podman", "catatonit", "uidmap", "slirp4netns", "fuse-overlayfs"] },
};

export function selected(names: readonly string[]): string[] {
  const unknown = names.filter((n) => !(n in E2E_NEEDS));
  if (unknown.length) throw new Error(`no end-to-end test file named ${unknown.join(", ")}; known: ${Object.keys(E2E_NEEDS).join(", ")}`);
  return names.length ? [...names] : Object.keys(E2E_NEEDS);
}

/**
 * The images.sh runs the files need: every request on this engine's own
 * platform, then, where a file builds for every host platform, its requests
 * alone for all of them (so the other arches' runtimes are not built under
 * qemu-user for nothing).
 */
export function imagesArgs(names: readonly string[]): string[][] {
  const needs = selected(names).map((n) => E2E_NEEDS[n]!);
  const requests = (of: readonly Needs[]) => [...new Set(of.flatMap((n) => n.bases))];
  const everyPlatform = needs.filter((n) => n.allPlatforms);
  return [requests(needs), ...(everyPlatform.length ? [["--platforms", "all", ...requests(everyPlatform)]] : [])];
}

if (process.argv[1]?.endsWith("/needs.js")) {
  const [what, ...names] = process.argv.slice(2);
  try {
    if (what === "images") console.log(imagesArgs(names).map((run) => run.join(" ")).join("\n"));
    else if (what === "packages") console.log([...new Set(selected(names).flatMap((n) => E2E_NEEDS[n]!.hostPackages ?? []))].join(" "));
    else if (what === "files") console.log(selected(names).map((n) => `dist/test/e2e/${n}.test.js`).join("\n"));
    else throw new Error("usage: needs.js images|files|packages [NAME…]");
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
}
