/**
 * The from-nothing figure (bench/setup): the main command's phases to hello's
 * output, and with --tests the test command's setup, on an empty image store
 * (a second dockerd with its own data root, as the registry e2e test starts)
 * and an empty CX_CACHE_DIR. Host packages are not measured: apt's state
 * cannot be emptied without harming the machine (bootstrap/host.sh took 30 s
 * on a brand-new machine of this kind). --suite runs the whole test command
 * against the empty engine instead of its setup alone.
 * Prints each phase's wall time (bootstrap/images.sh records them) and the
 * disk the image store and the cache take afterwards.
 */
import { spawn } from "node:child_process";
import { mkdtemp, open, readFile, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { run } from "../common/run.js";
import { startCleanEngine } from "../test/e2e/clean-engine.js";
import { imagesArgs } from "../test/e2e/needs.js";

const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const MAIN_TARGET_S = 300;
const SUITE_TARGET_S = 45 * 60;

/** Runs a command with its output appended to `log`; returns its wall time in ms. It must exit with `expected`. */
async function timed(log: string, env: Record<string, string>, file: string, args: string[], expected = 0): Promise<number> {
  const out = await open(log, "a");
  const t0 = performance.now();
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(file, args, { cwd: REPO, env: { ...process.env, ...env }, stdio: ["ignore", out.fd, out.fd] });
    child.on("error", reject);
    child.on("exit", (c) => resolve(c ?? 1));
  });
  await out.close();
  if (code !== expected) throw new Error(`${file} ${args.join(" ")} exited with ${code}, not ${expected}; its output is in ${log}`);
  return performance.now() - t0;
}

const row = (name: string, ms: number) => `${name.padEnd(40)} ${(ms / 1000).toFixed(1).padStart(7)} s`;

/** The phases images.sh recorded since `from` lines were read. */
async function phases(times: string, from: number): Promise<{ lines: string[]; count: number }> {
  const all = (await readFile(times, "utf8").catch(() => "")).split("\n").filter(Boolean);
  return { lines: all.slice(from).map((l) => { const [name, ms] = l.split("\t"); return row(`  ${name}`, Number(ms)); }), count: all.length };
}

async function diskMb(path: string): Promise<number> {
  return Number((await run("du", ["-sm", path])).split("\t")[0]);
}

async function main(): Promise<void> {
  const mode = process.argv[2] ?? "";
  if (!["", "--tests", "--suite"].includes(mode)) throw new Error("usage: bench/setup [--tests|--suite]");
  // Its own subnet: 10.198 is bootstrap/engine-20.10.sh's and 10.199 the e2e clean engine's; a bridge left on another's subnet takes its routes.
  const engine = await startCleanEngine({ bridge: "cx-bench-br", address: "10.197.0.1/24", nat: true });
  const cache = await mkdtemp("/var/tmp/cx-bench-cache-");
  const log = join(cache, "..", `${cache.split("/").pop()}.log`);
  const times = join(cache, "times");
  const env = { ...engine.env, CX_CACHE_DIR: join(cache, "cache"), CX_SETUP_TIMES: times };
  const dataRoot = (await engine.docker(["info", "-f", "{{.DockerRootDir}}"])).stdout.trim();
  console.log(`bench/setup: an empty image store (dockerd, data root ${dataRoot}) and an empty cache (${env.CX_CACHE_DIR}); output in ${log}`);
  try {
    console.log("main command (examples/hello/run.sh, without host.sh):");
    let total = await timed(log, env, "bash", ["bootstrap/images.sh", "minimal/aarch64"]);
    let recorded = await phases(times, 0);
    console.log(recorded.lines.join("\n"));
    const buildApp = await timed(log, env, "bash", ["examples/hello/build-app.sh"]);
    const build = await timed(log, env, "docker", ["buildx", "build", "-q", "-f", "examples/hello/Cxfile", "-t", "hello", "examples/hello"]);
    // hello exits with 3 by design, after its output.
    const runHello = await timed(log, env, "docker", ["run", "--rm", "hello"], 3);
    total += buildApp + build + runHello;
    console.log([row("  hello: build-app.sh", buildApp), row("  hello: docker buildx build", build), row("  hello: docker run", runHello)].join("\n"));
    console.log(row("main command to hello's output", total) + `   (target <= ${MAIN_TARGET_S} s)`);
    console.log(`disk after the main command: image store ${await diskMb(dataRoot)} MB, cache ${await diskMb(env.CX_CACHE_DIR)} MB`);

    if (mode === "--tests") {
      console.log("test command's setup (bootstrap/images.sh with every test's needs, after the main command):");
      let setup = 0;
      for (const args of imagesArgs([])) setup += await timed(log, env, "bash", ["bootstrap/images.sh", ...args]);
      recorded = await phases(times, recorded.count);
      console.log(recorded.lines.join("\n"));
      console.log(row("test setup after the main command", setup));
      console.log(`disk after the test setup: image store ${await diskMb(dataRoot)} MB, cache ${await diskMb(env.CX_CACHE_DIR)} MB`);
    } else if (mode === "--suite") {
      console.log("test command (npm test), after the main command:");
      const suite = await timed(log, env, "bash", ["test/run-all.sh"]);
      recorded = await phases(times, recorded.count);
      console.log(recorded.lines.join("\n"));
      console.log(row("test command after the main command", suite));
      console.log(row("main command + test command from nothing", total + suite) + `   (target <= ${SUITE_TARGET_S} s)`);
      console.log(`disk after the tests: image store ${await diskMb(dataRoot)} MB, cache ${await diskMb(env.CX_CACHE_DIR)} MB`);
    }
  } finally {
    await rm(cache, { recursive: true, force: true });
    await engine.stop();
  }
}

main().catch((err: unknown) => {
  console.error(`bench/setup: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
