/**
 * A second Docker engine with an empty image store and no build cache, for
 * what must not lean on the main engine's: pulling every layer from a
 * registry, building from clean caches, and timing a setup from nothing
 * (bench/setup). It is the same dockerd binary with its own data root, exec
 * root and socket, the containerd image store on, and a bridge of its own:
 * the main engine owns docker0, and a dockerd started with --bridge=none
 * deletes docker0. Its own iptables rules stay off (both engines would edit
 * the same chains); with `nat`, three rules of ours let its containers and
 * build steps reach the network (apt, npm), and are removed at stop.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { spawn, type ChildProcess } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { run, runCapture } from "../../common/run.js";

export interface EngineOptions {
  readonly bridge: string;
  /** The bridge's address with its prefix length, x.y.z.1/24. */
  readonly address: string;
  readonly nat?: boolean;
}

const E2E_BRIDGE: EngineOptions = { bridge: "cx-e2e-br", address: "10.199.0.1/24" };

async function ensureBridge({ bridge, address }: EngineOptions): Promise<void> {
  if ((await runCapture("ip", ["link", "show", bridge])).exitCode === 0) return;
  await run("ip", ["link", "add", bridge, "type", "bridge"]);
  await run("ip", ["addr", "add", address, "dev", bridge]);
  await run("ip", ["link", "set", bridge, "up"]);
}

/** The rules that forward and masquerade the bridge's traffic, as iptables arguments after the action flag. */
function natRules({ bridge, address }: EngineOptions): { table: string; chain: string; rule: string[] }[] {
  const subnet = address.replace(/\.\d+\//, ".0/");
  return [
    { table: "nat", chain: "POSTROUTING", rule: ["-s", subnet, "!", "-o", bridge, "-j", "MASQUERADE"] },
    { table: "filter", chain: "FORWARD", rule: ["-i", bridge, "-j", "ACCEPT"] },
    { table: "filter", chain: "FORWARD", rule: ["-o", bridge, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"] },
  ];
}

export interface CleanEngine {
  /** The docker CLI pointed at this engine. */
  readonly docker: (args: string[]) => ReturnType<typeof runCapture>;
  /** What points a docker CLI at this engine, for commands run with it. */
  readonly env: { readonly DOCKER_HOST: string };
  stop(): Promise<void>;
}

export async function startCleanEngine(opts: EngineOptions = E2E_BRIDGE): Promise<CleanEngine> {
  const root = await mkdtemp("/var/tmp/cx-e2e-engine-");
  // containerd's socket lives under the exec root: keep it short (sun_path is 108 bytes).
  const execRoot = `/run/cx-e2e-${process.pid}`;
  await mkdir(execRoot, { recursive: true });
  const socket = join(execRoot, "docker.sock");
  const config = join(root, "daemon.json");
  await writeFile(config, JSON.stringify({ features: { "containerd-snapshotter": true } }));
  await ensureBridge(opts);
  const nat = opts.nat ? natRules(opts) : [];
  for (const { table, chain, rule } of nat) await run("iptables", ["-t", table, "-I", chain, ...rule]);
  const daemon: ChildProcess = spawn("dockerd", [
    "--config-file", config, "--data-root", join(root, "data"), "--exec-root", execRoot,
    "--pidfile", join(execRoot, "dockerd.pid"), "-H", `unix://${socket}`,
    "--bridge", opts.bridge, "--iptables=false", "--ip-masq=false",
  ], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  daemon.stderr!.on("data", (chunk: Buffer) => { log = (log + chunk.toString()).slice(-4000); });
  const env = { DOCKER_HOST: `unix://${socket}` };
  const docker = (args: string[]) => runCapture("docker", args, { env });
  for (let i = 0; ; i++) {
    if ((await docker(["info"])).exitCode === 0) break;
    if (i === 60 || daemon.exitCode !== null) throw new Error(`the clean engine did not start: ${log}`);
    await sleep(500);
  }
  return {
    docker,
    env,
    async stop() {
      for (const { table, chain, rule } of nat) await runCapture("iptables", ["-t", table, "-D", chain, ...rule]);
      daemon.kill("SIGTERM");
      for (let i = 0; i < 60 && daemon.exitCode === null; i++) await sleep(500);
      // dockerd can leave its network namespaces bind-mounted under the exec root (seen: netns/default).
      const mounts = (await readFile("/proc/self/mountinfo", "utf8")).split("\n").map((l) => l.split(" ")[4] ?? "");
      for (const mount of mounts.filter((m) => m.startsWith(`${execRoot}/`)).reverse()) await runCapture("umount", [mount]);
      await rm(root, { recursive: true, force: true });
      await rm(execRoot, { recursive: true, force: true });
    },
  };
}
