/**
 * cx-launch: the entrypoint of every Containerx image. It turns the container
 * (argv, environment, working directory, CX_* settings) into a VM: a private
 * writable disk on top of the image's, QEMU for the guest arch, and the app
 * run by the guest agent. The container exits with the app's exit code.
 */
import { openSync, closeSync } from "node:fs";
import { access, mkdir } from "node:fs/promises";
import { hostname, machine } from "node:os";
import { join } from "node:path";
import { LAYOUT } from "../../common/layout.js";
import { chooseAccel } from "./accel.js";
import { createOverlayDisk } from "./overlay-disk.js";
import type { AppSpec } from "./agent-protocol.js";
import { isRuntimeVariable, settingsFromEnv } from "./settings.js";
import { readBaseManifest, vmConfigFor } from "./vm-config.js";
import { failureReason, runGuest, type SessionOutcome } from "./vm-session.js";

/** Exit code when the runtime itself fails, as `docker run` uses 125 for its own errors. */
const RUNTIME_FAILURE = 125;

class LaunchError extends Error {}

const say = (msg: string) => process.stderr.write(`containerx: ${msg}\n`);

function kvmDeviceOpens(): boolean {
  try {
    closeSync(openSync("/dev/kvm", "r+"));
    return true;
  } catch {
    return false;
  }
}

function appSpec(env: NodeJS.ProcessEnv, args: string[]): AppSpec {
  let entrypoint: string[] = [];
  if (env.CX_ENTRYPOINT) {
    const parsed: unknown = JSON.parse(env.CX_ENTRYPOINT);
    if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === "string")) {
      throw new LaunchError(`CX_ENTRYPOINT must be a JSON array of strings, got ${env.CX_ENTRYPOINT}`);
    }
    entrypoint = parsed;
  }
  const argv = [...entrypoint, ...args];
  if (argv.length === 0) throw new LaunchError("no command to run in the guest: the image has no entrypoint or cmd, and none was given");
  return {
    argv,
    env: Object.entries(env).filter(([k]) => !isRuntimeVariable(k)).map(([k, v]) => `${k}=${v}`),
    cwd: process.cwd(),
    hostname: hostname(),
    ...(env.CX_USER ? { user: env.CX_USER } : {}),
    clockNs: BigInt(Date.now()) * 1_000_000n,
  };
}

/** The container's own disk: a qcow2 over the image's, kept across restarts of the container. */
async function containerDisk(stateDir: string): Promise<string> {
  const disk = join(stateDir, "disk.qcow2");
  const exists = await access(disk).then(() => true, () => false);
  if (!exists) {
    const backing = await access(LAYOUT.appDisk).then(() => LAYOUT.appDisk, () => LAYOUT.baseDisk);
    await createOverlayDisk(disk, backing);
  }
  return disk;
}

function exitCode(outcome: SessionOutcome): number {
  switch (outcome.kind) {
    case "exited":
      return outcome.code;
    case "stopped":
      return 128 + (outcome.signal === "SIGINT" ? 2 : 15);
    default:
      say(failureReason(outcome));
      return RUNTIME_FAILURE;
  }
}

async function main(): Promise<number> {
  const settings = settingsFromEnv(process.env);
  const manifest = await readBaseManifest();
  const spec = appSpec(process.env, process.argv.slice(2));
  const stateDir = process.env.CX_STATE_DIR ?? "/cx/state";
  await mkdir(stateDir, { recursive: true });
  const disk = await containerDisk(stateDir);
  const io = { stdout: process.stdout, stderr: process.stderr };

  const choice = chooseAccel(manifest.arch, settings.accel, { machine: machine(), kvmDevice: kvmDeviceOpens() });
  say(`${manifest.arch} guest, ${choice.reason}`);
  let outcome = await runGuest(vmConfigFor(manifest, settings, disk, stateDir, choice.accel), spec, io,
    choice.probing ? { readyTimeoutSeconds: settings.kvmProbeSeconds } : {});
  if (choice.probing && (outcome.kind === "not-ready" || outcome.kind === "guest-died")) {
    say(`KVM did not boot the guest (${outcome.kind === "not-ready" ? `no agent after ${outcome.seconds}s` : outcome.reason}); falling back to TCG`);
    outcome = await runGuest(vmConfigFor(manifest, settings, disk, stateDir, "tcg"), spec, io);
  }
  return exitCode(outcome);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    say(err instanceof Error ? err.message : String(err));
    process.exitCode = RUNTIME_FAILURE;
  },
);
