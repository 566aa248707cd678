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
import { access, readFile, rm } from "node:fs/promises";
import { hostname, machine } from "node:os";
import { join } from "node:path";
import { EXEC_SOCKET, LAYOUT, stateDir } from "../../common/layout.js";
import { chooseAccel, type HostFacts } from "./accel.js";
import type { AppSpec } from "../agent/protocol.js";
import { RUNTIME_FAILURE } from "../../common/exit-codes.js";
import { appArgv, guestProcess, rawContainerTerminal, thisProcess, type ContainerProcess } from "./container-process.js";
import { ExecRelay } from "./exec-relay.js";
import { createOverlayDisk } from "../vm/overlay-disk.js";
import { runConsoleGuest, type ConsoleOutcome } from "./console-session.js";
import { notesFor, type Notes } from "./notes.js";
import { hasAgent, snapshotFiles, type GdbStub, type GuestBase, type VmConfig, type VncServer } from "../vm/config.js";
import { hasScreen, VNC_PORT, VNC_WEBSOCKET_PORT, WEB_PORT } from "../../common/display.js";
import { serveWebDisplay } from "./web-display.js";
import { ARCHES, type GuestArch } from "../../common/arches.js";
import { serialDevices, serialText } from "../../common/serial-ports.js";
import { openVmKit, type VmKit, type VmPlace } from "../vm/kit.js";
import { readSnapshot, runtimeQemuVersion } from "../vm/snapshot.js";
import { planStart, type VmFor } from "./start-plan.js";
import { failureReason, runGuest, type SessionOptions, type SessionOutcome, type StartMilestone } from "../vm/session.js";
import { NetworkError, readNetFacts, type NetBackend, type NetFacts } from "../vm/network.js";
import { VIRTIOFSD } from "../vm/virtiofsd.js";
import { readVolumeMounts, type VolumeMount } from "./volumes.js";
import { prepareStateDir } from "./state-dir.js";
import { choosePorts, lowestListenPort } from "./ports.js";
import { exists } from "../../common/exists.js";
import { SETTINGS } from "../../common/settings.js";
import type { LauncherSettings } from "../vm/settings.js";

class LaunchError extends Error {}

function kvmDeviceOpens(): boolean {
  try {
    closeSync(openSync("/dev/kvm", "r+"));
    return true;
  } catch {
    return false;
  }
}

/** What the start plan needs to know of the container around the launcher, read once. */
interface HostSide {
  readonly host: HostFacts;
  readonly virtiofsd: boolean;
  readonly mounts: readonly VolumeMount[];
  readonly net?: NetFacts;
}

async function hostSide(net: NetBackend, stateDir: string): Promise<HostSide> {
  return {
    host: { machine: machine(), kvmDevice: kvmDeviceOpens() },
    virtiofsd: await exists(VIRTIOFSD),
    mounts: await readVolumeMounts(await readFile("/proc/self/mountinfo", "utf8"), stateDir),
    ...(net === "passt" ? { net: await readNetFacts() } : {}),
  };
}

/** The disk the image's own layers end in: the app overlay, or the base's disk. */
const imageDisk = () => access(LAYOUT.appDisk).then(() => LAYOUT.appDisk, () => LAYOUT.baseDisk);

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
async function runWithoutAgent(kit: VmKit, place: Omit<VmPlace, "accel">, args: readonly string[], facts: HostSide, notes: Notes): Promise<number> {
  const { base, settings } = kit;
  if (args.length) throw new LaunchError(`this image boots its OS (${base.boot?.kind}) without the Containerx agent, so it runs no command; got: ${args.join(" ")}`);
  const volumes = facts.mounts.map((m) => m.path);
  if (volumes.length) notes.deviation(`volumes are not shared with the guest: it has no Containerx agent to mount them (${volumes.join(", ")})`);
  const choice = chooseAccel(base.arch, settings.accel, facts.host);
  // Without the agent there is no sign that a KVM boot works, so KVM is used only when asked for.
  const accel = choice.probing ? "tcg" : choice.accel;
  notes.info(`${base.arch} guest, ${choice.probing ? "TCG: KVM is not probed without the Containerx agent (CX_ACCEL=kvm to use it)" : choice.reason}`);
  notes.info(`booting with ${base.boot?.kind}, no Containerx agent: the serial console is stdin/stdout; no exit code from the guest, no docker exec, no volumes`);
  const ports = choosePorts(settings.ports, settings.ports.length ? await lowestListenPort() : 0);
  if (ports.refused) notes.deviation(ports.refused);
  const outcome = await runConsoleGuest(kit.vm({ ...place, accel, ports: ports.forwarded }), settings.powerdownSeconds, notes);
  return consoleExitCode(outcome, notes);
}

/** QEMU's gdb stub as CX_GDB and CX_GDB_WAIT ask for it, said once. */
function gdbStub(settings: LauncherSettings, notes: Notes): GdbStub | undefined {
  if (settings.gdbPort === undefined) {
    if (settings.gdbWait) notes.deviation(`${SETTINGS.gdbWait.name}=1 without ${SETTINGS.gdb.name}: there is no debugger to wait for`);
    return undefined;
  }
  const stub = { port: settings.gdbPort, wait: settings.gdbWait };
  const attach = `gdb-multiarch -ex 'target remote :${stub.port}' (docker run -p ${stub.port}:${stub.port})`;
  if (stub.wait) notes.waiting(`the guest is stopped until a debugger on container port ${stub.port} continues it: ${attach}, then continue`);
  else notes.info(`QEMU's gdb stub listens on container port ${stub.port}: ${attach}`);
  return stub;
}

/** The guest's serial ports beyond its console, by the names the guest gives them, as CX_SERIAL connects them. */
function serialNote(settings: LauncherSettings, base: GuestBase, notes: Notes): void {
  if (!settings.serial.length) return;
  const arch: GuestArch = ARCHES[base.arch];
  const names = serialDevices(arch, settings.serial.length, settings.machine ?? arch.machine);
  notes.info(`serial ports: ${settings.serial.map((port, i) => `/dev/${names[i]} on ${serialText(port)}`).join(", ")}`);
}

/** The screen as CX_DISPLAY asks for it (the kit refused one the base cannot drive): QEMU's VNC server, with its websocket for the launcher's page under `web`. */
function vncServer(settings: LauncherSettings, notes: Notes): VncServer | undefined {
  const mode = settings.display;
  if (!hasScreen(mode)) return undefined;
  const web = mode === "web" ? `; noVNC in a browser on container port ${WEB_PORT} (docker run -p ${WEB_PORT}:${WEB_PORT}, then http://localhost:${WEB_PORT}/)` : "";
  notes.info(`the screen: QEMU's VNC server on container port ${VNC_PORT} (docker run -p ${VNC_PORT}:${VNC_PORT}, then a VNC viewer on localhost:${VNC_PORT})${web}`);
  return { websocket: mode === "web" };
}

async function main(args: readonly string[]): Promise<number> {
  const kit = await openVmKit();
  const notes = notesFor(kit.settings.log);
  const vnc = vncServer(kit.settings, notes);
  const web = vnc?.websocket ? await serveWebDisplay(WEB_PORT, LAYOUT.novncDir, VNC_WEBSOCKET_PORT) : undefined;
  try {
    return await runContainer(args, kit, notes, vnc);
  } finally {
    web?.close();
  }
}

async function runContainer(args: readonly string[], kit: VmKit, notes: Notes, vnc: VncServer | undefined): Promise<number> {
  const { settings, base, size } = kit;
  const gdb = gdbStub(settings, notes);
  serialNote(settings, base, notes);
  // What only `docker run` has: build steps run no debugger, connect no serial port and serve no screen.
  const own = { ...(gdb ? { gdb } : {}), serial: settings.serial, ...(vnc ? { vnc } : {}) };
  const container: ContainerProcess = thisProcess();
  const dir = stateDir(settings.stateDir, container.uid);
  await prepareStateDir(dir);
  // The container's own disk, over the image's, kept across restarts of the container.
  const disk = join(dir, "disk.qcow2");
  const firstStart = !(await exists(disk));
  size.notes.forEach(notes.deviation);
  const side = await hostSide(settings.net, dir);
  if (!hasAgent(base)) {
    if (firstStart) await createOverlayDisk(disk, await imageDisk(), settings.diskMiB);
    return runWithoutAgent(kit, { disk, stateDir: dir, ...own }, args, side, notes);
  }
  // The plan's choices once it is made; a passt that cannot start leaves slirp (run below).
  let network: NetBackend = "slirp";
  let ports = settings.ports;
  const config: VmFor = (accel, shares, resume) =>
    kit.vm({ disk, stateDir: dir, accel, shares, network, ports, ...own, ...(resume ? { snapshot: { mode: "resume", ...snapshotFiles() } } : {}) });
  const snapshot = await readSnapshot();
  const plan = planStart({
    arch: base.arch, settings, snapshot, firstStart, stateDir: dir, ...side,
    qemuVersion: snapshot ? await runtimeQemuVersion() : "",
    lowestListenPort: settings.ports.length ? await lowestListenPort() : 0,
  }, config);
  const { accel: choice, start, volumeFs, shares, skipped, net } = plan;
  network = net.backend;
  ports = plan.ports.forwarded;
  if (plan.ports.refused) notes.deviation(plan.ports.refused);
  notes.info(`${base.arch} guest, ${choice.reason}`);
  (net.deviation ? notes.deviation : notes.info)(net.reason);
  if (shares.length) notes.info(`volumes shared by ${volumeFs.fstype} (${volumeFs.reason}): ${shares.map((s) => s.guestPath).join(", ")}`);
  if (skipped.length) notes.deviation(`not shared with the guest (only directories can be): ${skipped.join(", ")}`);
  if (start.resume) notes.info("resuming the guest from the image's build-time snapshot");
  // Asked for with CX_SNAPSHOT=off, a cold boot is no deviation.
  else if (start.whyCold) (settings.snapshot === "off" ? notes.info : notes.deviation)(`booting the guest, not resuming its snapshot: ${start.whyCold}`);
  if (firstStart) await createOverlayDisk(disk, start.resume ? LAYOUT.snapshotDisk : await imageDisk(), settings.diskMiB);

  const spec: AppSpec = {
    ...guestProcess(appArgv(settings.entrypoint, args), container, settings.user),
    hostname: hostname(),
    clockNs: BigInt(Date.now()) * 1_000_000n,
    seed: randomBytes(32).toString("hex"),
    mounts: shares.map(({ fstype, tag, guestPath }) => ({ fstype, tag, guestPath })),
  };
  if (spec.tty) rawContainerTerminal();
  const io = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, ...(spec.tty ? { terminal: process.stdout } : {}) };

  const relay = new ExecRelay(join(dir, EXEC_SOCKET));
  await relay.start();
  // performance.now() counts from the process's start: the container's entrypoint exec.
  const marks: string[] = [];
  let inGuest = "";
  const timing: SessionOptions = settings.log !== "debug" ? {} : {
    milestone: (event: StartMilestone) => marks.push(`${event} ${Math.round(performance.now())}`),
    guestSteps: (steps) => {
      if (steps.length) inGuest = `; in the guest, ms: ${steps.map(({ step, micros }) => `${step} ${(micros / 1000).toFixed(1)}`).join(", ")}`;
    },
  };
  const run = async (vm: () => VmConfig, opts: SessionOptions = {}) => {
    const session = () => runGuest(vm(), spec, io, { onAppStarted: (link) => relay.attach(link), ...timing, ...opts });
    try {
      return await session();
    } catch (err) {
      if (!(err instanceof NetworkError && network === "passt")) throw err;
      notes.deviation(`${err.message}${net.hint}; network by slirp instead`);
      network = "slirp";
      return session();
    }
  };
  try {
    if (start.resume) {
      const outcome = await run(() => config(choice.accel, shares, true), { resumedAgent: start.snapshot.agentVersion });
      if (outcome.kind !== "resume-failed") return exitCode(outcome, notes);
      notes.deviation(`${failureReason(outcome)}; booting the guest instead`);
      // The failed resume ran no guest code, so a fresh disk over the image's loses nothing.
      await rm(disk, { force: true });
      await createOverlayDisk(disk, await imageDisk(), settings.diskMiB);
    }
    // A guest stopped for its debugger takes as long as the debugging: no probe timeout then.
    const probeTimeout = choice.probing && !gdb?.wait ? { readyTimeoutSeconds: settings.kvmProbeSeconds } : {};
    let outcome = await run(() => config(choice.accel, shares), probeTimeout);
    if (choice.probing && (outcome.kind === "not-ready" || outcome.kind === "guest-died")) {
      notes.deviation(`KVM did not boot the guest (${outcome.kind === "not-ready" ? `no agent after ${outcome.seconds}s` : outcome.reason}); falling back to TCG`);
      outcome = await run(() => config("tcg", shares));
    }
    return exitCode(outcome, notes);
  } finally {
    if (marks.length) notes.info(`start timing, ms since the launcher's exec: ${marks.join(", ")}${inGuest}`);
    await relay.stop();
  }
}

/** Runs the container's app with `args` (the container's command) and sets the exit code: runtime/launcher/entry.ts calls it. */
export function launch(args: readonly string[]): void {
  main(args).then(
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
}
