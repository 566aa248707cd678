/**
 * cx-launch: the entrypoint of every Containerx image. It turns the container
 * (argv, environment, working directory, user, terminal, volumes, ports,
 * resource limits, CX_* settings) into a VM: a private writable disk on top
 * of the image's, QEMU for the guest arch, and the app run by the guest
 * agent. Signals go to the app; the container exits with the app's exit code.
 * A bring-your-own OS without the agent gets the VM alone, its serial
 * console on the container's stdio.
 */
import { openSync, closeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { access, mkdir, readFile, rm } from "node:fs/promises";
import { hostname, machine } from "node:os";
import { join } from "node:path";
import { ARCHES } from "../../common/arches.js";
import { EXEC_SOCKET, LAYOUT, stateDir } from "../../common/layout.js";
import { chooseAccel } from "./accel.js";
import type { AppSpec } from "./agent-protocol.js";
import { RUNTIME_FAILURE } from "../../common/exit-codes.js";
import { appArgv, guestProcess, rawContainerTerminal, thisProcess, type ContainerProcess } from "./container-process.js";
import { ExecRelay } from "./exec-relay.js";
import { readCgroupLimits, sizeGuest } from "./guest-size.js";
import { createOverlayDisk } from "./overlay-disk.js";
import { runConsoleGuest, type ConsoleOutcome } from "./console-session.js";
import { notesFor, type Notes } from "./notes.js";
import { settingsFromEnv, type LauncherSettings } from "./settings.js";
import { hasAgent, readBaseManifest, vmConfigFor, type GuestBase, type VmPlacement } from "./vm-config.js";
import type { HostShare, VmConfig } from "./qemu-args.js";
import { readSnapshot, resumeBlocker, runtimeQemuVersion, volumesBlocker, type SnapshotManifest } from "./snapshot.js";
import { failureReason, runGuest, type SessionOptions, type SessionOutcome } from "./vm-session.js";
import { chooseVolumeFs, VIRTIOFSD } from "./virtiofsd.js";
import { containerVolumes, volumeMountPoints } from "./volumes.js";

class LaunchError extends Error {}


function kvmDeviceOpens(): boolean {
  try {
    closeSync(openSync("/dev/kvm", "r+"));
    return true;
  } catch {
    return false;
  }
}


/** The disk the image's own layers end in: the app overlay, or the base's disk. */
const imageDisk = () => access(LAYOUT.appDisk).then(() => LAYOUT.appDisk, () => LAYOUT.baseDisk);

/** How this start begins: resuming the build-time snapshot, or booting, with why not resuming when there was one. */
type StartPlan = { readonly resume: true; readonly snapshot: SnapshotManifest } | { readonly resume: false; readonly whyCold?: string };

async function planStart(snapshot: SnapshotManifest | "unreadable" | undefined, firstStart: boolean, settings: LauncherSettings, vm: VmConfig): Promise<StartPlan> {
  if (!snapshot) return { resume: false };
  if (snapshot === "unreadable") return { resume: false, whyCold: `${LAYOUT.snapshotManifest} is not one this runtime can read` };
  if (settings.snapshot === "off") return { resume: false, whyCold: "CX_SNAPSHOT=off" };
  // The snapshot's page cache and mounts belong to the disk as it was built.
  if (!firstStart) return { resume: false, whyCold: "this container ran before, and its disk has moved on from the snapshot's" };
  const blocker = resumeBlocker(snapshot, vm, await runtimeQemuVersion());
  return blocker ? { resume: false, whyCold: blocker } : { resume: true, snapshot };
}

function exitCode(outcome: SessionOutcome, notes: Notes): number {
  switch (outcome.kind) {
    case "exited":
      return outcome.code;
    case "stopped":
      return 128 + (outcome.signal === "SIGINT" ? 2 : 15);
    default:
      notes.error(failureReason(outcome));
      return RUNTIME_FAILURE;
  }
}

function consoleExitCode(outcome: ConsoleOutcome, notes: Notes): number {
  switch (outcome.kind) {
    case "shut-down":
      return 0;
    case "stopped":
      // As a process that exits on SIGTERM, or one killed by it.
      return outcome.forced ? 128 + 15 : 0;
    case "guest-died":
      notes.error(outcome.reason);
      return RUNTIME_FAILURE;
  }
}

/** A bring-your-own OS without the agent: only the VM and its console, and what that leaves out said once. */
async function runWithoutAgent(manifest: GuestBase, settings: LauncherSettings, vm: Omit<VmPlacement, "accel">, notes: Notes): Promise<number> {
  const args = process.argv.slice(2);
  if (args.length) throw new LaunchError(`this image boots its OS (${manifest.boot?.kind}) without the Containerx agent, so it runs no command; got: ${args.join(" ")}`);
  const volumes = volumeMountPoints(await readFile("/proc/self/mountinfo", "utf8"));
  if (volumes.length) notes.deviation(`volumes are not shared with the guest: it has no Containerx agent to mount them (${volumes.join(", ")})`);
  const choice = chooseAccel(manifest.arch, settings.accel, { machine: machine(), kvmDevice: kvmDeviceOpens() });
  // Without the agent there is no sign that a KVM boot works, so KVM is used only when asked for.
  const accel = choice.probing ? "tcg" : choice.accel;
  notes.info(`${manifest.arch} guest, ${choice.probing ? "TCG: KVM is not probed without the Containerx agent (CX_ACCEL=kvm to use it)" : choice.reason}`);
  notes.info(`booting with ${manifest.boot?.kind}, no Containerx agent: the serial console is stdin/stdout; no exit code from the guest, no docker exec, no volumes`);
  const outcome = await runConsoleGuest(vmConfigFor(manifest, settings, { ...vm, accel }), settings.powerdownSeconds, notes);
  return consoleExitCode(outcome, notes);
}

async function main(): Promise<number> {
  const settings = settingsFromEnv(process.env);
  const notes = notesFor(settings.log);
  const manifest = await readBaseManifest();
  const container: ContainerProcess = thisProcess();
  const dir = stateDir(settings.stateDir, container.uid);
  await mkdir(dir, { recursive: true });
  // The container's own disk, over the image's, kept across restarts of the container.
  const disk = join(dir, "disk.qcow2");
  const firstStart = !(await access(disk).then(() => true, () => false));
  const size = sizeGuest(settings, await readCgroupLimits());
  size.notes.forEach(notes.deviation);
  if (!hasAgent(manifest)) {
    if (firstStart) await createOverlayDisk(disk, await imageDisk(), settings.diskMiB);
    return runWithoutAgent(manifest, settings, { disk, stateDir: dir, size }, notes);
  }
  const choice = chooseAccel(manifest.arch, settings.accel, { machine: machine(), kvmDevice: kvmDeviceOpens() });
  notes.info(`${manifest.arch} guest, ${choice.reason}`);
  const config = (accel: "kvm" | "tcg", shares: readonly HostShare[], incoming?: string) =>
    vmConfigFor(manifest, settings, { disk, stateDir: dir, accel, size, shares, ...(incoming ? { incoming } : {}) });
  let start = await planStart(await readSnapshot(), firstStart, settings, config(choice.accel, [], LAYOUT.snapshotState));

  const volumeFs = chooseVolumeFs(settings.volumeFs, await access(VIRTIOFSD).then(() => true, () => false), ARCHES[manifest.arch], start.resume);
  const volumes = await containerVolumes(await readFile("/proc/self/mountinfo", "utf8"),
    volumeFs.fstype === "9p" ? { fstype: "9p" } : { fstype: "virtiofs", socketDir: dir });
  if (volumes.shares.length) notes.info(`volumes shared by ${volumeFs.fstype} (${volumeFs.reason}): ${volumes.shares.map((s) => s.guestPath).join(", ")}`);
  if (volumes.skipped.length) notes.deviation(`not shared with the guest (only directories can be): ${volumes.skipped.join(", ")}`);
  const resumeVm = config(choice.accel, volumes.shares, LAYOUT.snapshotState);
  const volumesWhy = start.resume ? volumesBlocker(resumeVm) : undefined;
  if (volumesWhy) start = { resume: false, whyCold: volumesWhy };
  if (start.resume) notes.info("resuming the guest from the image's build-time snapshot");
  // Asked for with CX_SNAPSHOT=off, a cold boot is no deviation.
  else if (start.whyCold) (settings.snapshot === "off" ? notes.info : notes.deviation)(`booting the guest, not resuming its snapshot: ${start.whyCold}`);
  if (firstStart) await createOverlayDisk(disk, start.resume ? LAYOUT.snapshotDisk : await imageDisk(), settings.diskMiB);

  const spec: AppSpec = {
    ...guestProcess(appArgv(settings.entrypoint, process.argv.slice(2)), container, settings.user),
    hostname: hostname(),
    clockNs: BigInt(Date.now()) * 1_000_000n,
    seed: randomBytes(32).toString("hex"),
    mounts: volumes.shares.map(({ fstype, tag, guestPath }) => ({ fstype, tag, guestPath })),
  };
  if (spec.tty) rawContainerTerminal();
  const io = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, ...(spec.tty ? { terminal: process.stdout } : {}) };

  const relay = new ExecRelay(join(dir, EXEC_SOCKET));
  await relay.start();
  const run = (vm: VmConfig, opts: SessionOptions = {}) => runGuest(vm, spec, io, { onAppStarted: (link) => relay.attach(link), ...opts });
  try {
    if (start.resume) {
      const outcome = await run(resumeVm, { resumedAgent: start.snapshot.agentVersion });
      if (outcome.kind !== "resume-failed") return exitCode(outcome, notes);
      notes.deviation(`${failureReason(outcome)}; booting the guest instead`);
      // The failed resume ran no guest code, so a fresh disk over the image's loses nothing.
      await rm(disk, { force: true });
      await createOverlayDisk(disk, await imageDisk(), settings.diskMiB);
    }
    let outcome = await run(config(choice.accel, volumes.shares), choice.probing ? { readyTimeoutSeconds: settings.kvmProbeSeconds } : {});
    if (choice.probing && (outcome.kind === "not-ready" || outcome.kind === "guest-died")) {
      notes.deviation(`KVM did not boot the guest (${outcome.kind === "not-ready" ? `no agent after ${outcome.seconds}s` : outcome.reason}); falling back to TCG`);
      outcome = await run(config("tcg", volumes.shares));
    }
    return exitCode(outcome, notes);
  } finally {
    await relay.stop();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // Errors are said at every CX_LOG level, including when CX_LOG itself is wrong.
    notesFor("quiet").error(err instanceof Error ? err.message : String(err));
    process.exitCode = RUNTIME_FAILURE;
  },
).finally(() => {
  // stdin (a pipe or terminal) would keep Node running after the app is gone.
  process.stdin.destroy();
});
