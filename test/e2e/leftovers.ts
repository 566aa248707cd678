/**
 * What earlier end-to-end runs left on this machine, removed before a run
 * sets up: their images and containers, their repositories in the local
 * registry (blobs included), the data of clean engines a killed run never
 * stopped, and build cache beyond what a whole run needs. A machine that runs
 * the suite again and again (a CI runner, a developer's) otherwise loses
 * gigabytes a run: the pushed images carry a fresh snapshot each time, and
 * the registry and BuildKit keep every one, and each rebuilt base, runtime
 * or hello leaves its predecessor untagged (88 such images, tens of
 * gigabytes, filled a CI runner's disk midway through a run). The tagged
 * bases, the host images and the downloads in CX_CACHE_DIR stay: they are
 * what makes the next run fast.
 *
 * Usage: node dist/test/e2e/leftovers.js   (test/run-all.sh runs it)
 */
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import yaml from "js-yaml";
import { run, runCapture } from "../../common/run.js";
import { diskFillPath } from "./disk-fill.js";

/** Every image, container and registry repository the tests make is named under this. */
export const E2E_PREFIX = "containerx-e2e";
const REGISTRY_CONFIG = fileURLToPath(new URL("../../../bootstrap/registry.yml", import.meta.url));
/** A whole run's build cache, measured by bench/setup --suite, with room to spare. */
const KEEP_BUILD_CACHE = "8GB";

const log = (line: string) => process.stderr.write(`containerx-setup: ${line}\n`);
const isE2eImage = (ref: string) => ref.replace(/^[^/]*[.:][^/]*\//, "").startsWith(E2E_PREFIX);

async function lines(args: string[]): Promise<string[]> {
  const out = await runCapture("docker", args);
  if (out.exitCode !== 0) throw new Error(`docker ${args.join(" ")}: ${out.stderr.trim()}`);
  return out.stdout.split("\n").filter(Boolean);
}

async function removeContainersAndImages(): Promise<number> {
  const containers = (await lines(["ps", "-a", "--format", "{{.ID}} {{.Image}}"]))
    .map((l) => l.split(" ")).filter(([, image]) => isE2eImage(image)).map(([id]) => id);
  if (containers.length) await run("docker", ["rm", "-f", ...containers]);
  const images = (await lines(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"])).filter(isE2eImage);
  if (images.length) await runCapture("docker", ["rmi", "-f", ...images]);
  const untagged = await lines(["image", "ls", "--quiet", "--filter", "dangling=true"]);
  if (untagged.length) await run("docker", ["image", "prune", "--force"]);
  return containers.length + images.length + untagged.length;
}

/** Deletes the tests' repositories from the local registry's storage, then the blobs nothing references any more. */
async function pruneRegistry(): Promise<number> {
  const config = yaml.load(await readFile(REGISTRY_CONFIG, "utf8")) as { storage: { filesystem: { rootdirectory: string } } };
  const repositories = join(config.storage.filesystem.rootdirectory, "docker/registry/v2/repositories");
  const ours = (await readdir(repositories).catch(() => [])).filter((name) => name.startsWith(E2E_PREFIX));
  for (const name of ours) await rm(join(repositories, name), { recursive: true, force: true });
  // Nothing pushes while the suite has not started, so collecting under the running registry is safe.
  if (ours.length) await run("docker-registry", ["garbage-collect", "--delete-untagged", REGISTRY_CONFIG]);
  return ours.length;
}

/** The data and exec roots of the dockerd processes running now. */
async function liveEngineRoots(): Promise<Set<string>> {
  const roots = new Set<string>();
  for (const pid of (await readdir("/proc")).filter((n) => /^\d+$/.test(n))) {
    const argv = (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).split("\0");
    if (!argv[0]?.endsWith("dockerd")) continue;
    for (const flag of ["--data-root", "--exec-root"]) {
      const at = argv.indexOf(flag);
      if (at >= 0 && argv[at + 1]) roots.add(argv[at + 1]);
    }
  }
  return roots;
}

/** Data and exec roots of clean engines (clean-engine.ts) whose run ended without stopping them. */
async function removeStaleEngines(): Promise<number> {
  const live = [...(await liveEngineRoots())];
  const mounts = (await readFile("/proc/self/mountinfo", "utf8")).split("\n").map((l) => l.split(" ")[4] ?? "");
  let removed = 0;
  for (const [dir, prefix] of [["/var/tmp", "cx-e2e-engine-"], ["/run", "cx-e2e-"]] as const) {
    for (const name of (await readdir(dir)).filter((n) => n.startsWith(prefix))) {
      const path = join(dir, name);
      if (live.some((root) => root === path || root.startsWith(`${path}/`))) continue;
      for (const mount of mounts.filter((m) => m.startsWith(`${path}/`)).reverse()) await runCapture("umount", [mount]);
      await rm(path, { recursive: true, force: true });
      removed++;
    }
  }
  return removed;
}

const freeMiB = async () => Number((await runCapture("df", ["-Pm", "/var/lib"])).stdout.split("\n")[1]?.split(/\s+/)[3] ?? 0);

async function main(): Promise<void> {
  // A disk fill a killed fault test left would starve everything after it.
  await rm(await diskFillPath(), { force: true });
  const before = await freeMiB();
  const items = await removeContainersAndImages();
  const repos = await pruneRegistry();
  const engines = await removeStaleEngines();
  await run("docker", ["builder", "prune", "-f", "--keep-storage", KEEP_BUILD_CACHE]);
  const freed = (await freeMiB()) - before;
  if (items || repos || engines || freed > 100) {
    log(`removed what earlier test runs left: ${items} images (tests' and untagged) and containers, ${repos} registry repositories, ${engines} clean-engine directories, build cache over ${KEEP_BUILD_CACHE}; ${freed} MB freed`);
  }
}

main().catch((err: unknown) => {
  log(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
