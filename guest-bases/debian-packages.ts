/**
 * Debian's packages as the guest-base builders get them: binary packages of
 * any architecture, cross compilers, and source packages, all from the
 * host's own mirror and cached under CACHE.
 */
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { run } from "../common/run.js";
import { fillOnce, isFilled } from "./build-cache.js";
import { CACHE, log, trace } from "./publish.js";

const APT_ENV = { DEBIAN_FRONTEND: "noninteractive" };

/** The host's own Debian mirror (the one reachable here), like bootstrap/debian-image.sh. */
export async function debianMirror(): Promise<string> {
  if (process.env.CX_DEBIAN_MIRROR) return process.env.CX_DEBIAN_MIRROR;
  const sources = await readFile("/etc/apt/sources.list.d/debian.sources", "utf8").catch(() => "");
  return /^URIs:\s*(\S+)/m.exec(sources)?.[1] ?? "http://deb.debian.org/debian";
}

/** The host's own Debian architecture. */
export const nativeDebianArch = async () => (await run("dpkg", ["--print-architecture"])).trim();

/** Makes a Debian port's packages downloadable with apt (dpkg --add-architecture). */
export async function ensureForeignArch(debianArch: string): Promise<void> {
  if (debianArch === (await nativeDebianArch())) return;
  const foreign = (await run("dpkg", ["--print-foreign-architectures"])).split("\n");
  if (foreign.includes(debianArch)) return;
  await run("dpkg", ["--add-architecture", debianArch], { trace });
  // A mirror mid-sync can fail one index (seen: bookworm-security armhf); the
  // packages needed may still resolve, and the download says so if not.
  await run("apt-get", ["update", "-qq"], { trace }).catch((err: Error) => log(`apt-get update: ${err.message.split("\n")[0]}; going on`));
}

/** Installs host packages (cross compilers, build tools) that are not there yet. */
export async function ensureHostPackages(packages: readonly string[]): Promise<void> {
  const status = await run("dpkg-query", ["-W", "-f", "${Package} ${db:Status-Status}\n", ...packages]).catch((err: { message: string }) => err.message);
  const missing = packages.filter((p) => !new RegExp(`^${p.replace(/[+.]/g, "\\$&")} installed$`, "m").test(status));
  if (!missing.length) return;
  await run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], { trace, env: APT_ENV });
}

/** The concrete package a metapackage points at, e.g. linux-image-6.1.0-56-arm64 (prefix linux-image-). */
export async function concretePackage(meta: string, debianArch: string, prefix: string): Promise<string> {
  const out = await run("apt-cache", ["depends", debianArch === "all" ? meta : `${meta}:${debianArch}`]);
  const m = new RegExp(`Depends: (${prefix}[^\\s:]+)`).exec(out);
  if (!m) throw new Error(`cannot find the ${prefix}* package behind ${meta}:${debianArch}`);
  return m[1];
}

/** A binary package's .deb in the cache, downloaded at apt's candidate version. */
export async function download(pkg: string, debianArch: string): Promise<{ deb: string; version: string }> {
  const dir = join(CACHE, "debs", debianArch);
  await mkdir(dir, { recursive: true });
  const version = (await run("apt-cache", ["policy", `${pkg}:${debianArch}`])).match(/Candidate: (\S+)/)?.[1];
  if (!version || version === "(none)") throw new Error(`no candidate for ${pkg}:${debianArch}`);
  const name = `${pkg}_${version.replace(/:/g, "%3a")}_${debianArch}.deb`;
  if (!(await readdir(dir)).includes(name)) {
    // _apt cannot write into root-owned cache dirs; download as root quietly.
    await run("apt-get", ["download", "-o", "APT::Sandbox::User=root", `${pkg}:${debianArch}=${version}`], { cwd: dir, trace });
  }
  return { deb: join(dir, name), version };
}

/**
 * A source package, unpacked with Debian's patches applied, from the host's
 * mirror and release, or another release (apt's own deb-src index, kept
 * apart from the host's configuration). Returns its directory and version.
 */
export async function sourcePackage(pkg: string, release?: string): Promise<{ dir: string; version: string }> {
  release ??= (await run("sh", ["-c", ". /etc/os-release && echo $VERSION_CODENAME"])).trim();
  const aptDir = join(CACHE, "apt-src", release);
  const listDir = join(aptDir, "lists");
  await mkdir(join(listDir, "partial"), { recursive: true });
  await writeFile(join(aptDir, "sources.list"), `deb-src ${await debianMirror()} ${release} main\n`);
  const apt = ["-q", "-o", `Dir::Etc::SourceList=${join(aptDir, "sources.list")}`, "-o", "Dir::Etc::SourceParts=/dev/null",
    "-o", `Dir::State::Lists=${listDir}`, "-o", "APT::Sandbox::User=root"];
  const version = async () => /^Version: (\S+)/m.exec(await run("apt-cache", [...apt, "showsrc", "--only-source", pkg]).catch(() => ""))?.[1];
  const dirOf = (v: string) => join(CACHE, "src", `${pkg}-${v.replace(/:/g, "_")}`);
  let known = await version();
  // The index is refreshed only to fetch: the mirror may have moved on from the version it names.
  if (!known || !(await isFilled(dirOf(known)))) {
    await run("apt-get", [...apt, "update"], { trace });
    known = await version();
    if (!known) throw new Error(`Debian's mirror has no source package ${pkg} for ${release}`);
  }
  const dir = dirOf(known);
  await fillOnce(dir, () => run("apt-get", [...apt, "source", `${pkg}=${known}`], { cwd: dir, trace }).then(() => undefined));
  return { dir: join(dir, `${pkg}-${known.replace(/^\d+:/, "").replace(/-[^-]+$/, "")}`), version: known };
}
