/**
 * A second Docker engine with an empty image store and no build cache, for
 * what must not lean on the main engine's: pulling every layer from a
 * registry, and building from clean caches. It is the same dockerd binary
 * with its own data root, exec root and socket, the containerd image store
 * on, and a bridge of its own without NAT: the main engine owns docker0, and
 * a dockerd started with --bridge=none deletes docker0.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { spawn, type ChildProcess } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { run, runCapture } from "../../common/run.js";

const BRIDGE = "cx-e2e-br";
const BRIDGE_ADDRESS = "10.199.0.1/24";

async function ensureBridge(): Promise<void> {
  if ((await runCapture("ip", ["link", "show", BRIDGE])).exitCode === 0) return;
  await run("ip", ["link", "add", BRIDGE, "type", "bridge"]);
  await run("ip", ["addr", "add", BRIDGE_ADDRESS, "dev", BRIDGE]);
  await run("ip", ["link", "set", BRIDGE, "up"]);
}

export interface CleanEngine {
  /** The docker CLI pointed at this engine. */
  readonly docker: (args: string[]) => ReturnType<typeof runCapture>;
  stop(): Promise<void>;
}

export async function startCleanEngine(): Promise<CleanEngine> {
  const root = await mkdtemp("/var/tmp/cx-e2e-engine-");
  // containerd's socket lives under the exec root: keep it short (sun_path is 108 bytes).
  const execRoot = `/run/cx-e2e-${process.pid}`;
  await mkdir(execRoot, { recursive: true });
  const socket = join(execRoot, "docker.sock");
  const config = join(root, "daemon.json");
  await writeFile(config, JSON.stringify({ features: { "containerd-snapshotter": true } }));
  await ensureBridge();
  const daemon: ChildProcess = spawn("dockerd", [
    "--config-file", config, "--data-root", join(root, "data"), "--exec-root", execRoot,
    "--pidfile", join(execRoot, "dockerd.pid"), "-H", `unix://${socket}`,
    "--bridge", BRIDGE, "--iptables=false", "--ip-masq=false",
  ], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  daemon.stderr!.on("data", (chunk: Buffer) => { log = (log + chunk.toString()).slice(-4000); });
  const env = { ...process.env, DOCKER_HOST: `unix://${socket}` };
  const docker = (args: string[]) => runCapture("docker", args, { env });
  for (let i = 0; ; i++) {
    if ((await docker(["info"])).exitCode === 0) break;
    if (i === 60 || daemon.exitCode !== null) throw new Error(`the clean engine did not start: ${log}`);
    await sleep(500);
  }
  return {
    docker,
    async stop() {
      daemon.kill("SIGTERM");
      for (let i = 0; i < 60 && daemon.exitCode === null; i++) await sleep(500);
      await rm(root, { recursive: true, force: true });
      await rm(execRoot, { recursive: true, force: true });
    },
  };
}
