/**
 * The baselines for bench/boot: the image's guest under a bare QEMU, on the
 * host side of nothing (no Docker, no container start, no launcher), booted
 * or resumed from the image's snapshot. The guest files come from a copy of
 * the image's /cx tree; it runs in a container of the image, so the QEMU
 * command line is the runtime's own (buildQemuArgs with the image's CX_*
 * settings, TCG) and the app's argv the launcher's (the image's entrypoint,
 * then `cmd`): a bare run and `docker run` differ only in what wraps QEMU.
 *
 * Usage: node dist/bench/bare-boot.js [--resume] <copy of /cx> <cmd…>
 * Prints the milliseconds from QEMU's spawn to the app's first output byte;
 * with --resume, then the milliseconds until QEMU had loaded the snapshot and
 * the guest ran again.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LAYOUT } from "../common/layout.js";
import { listenForAgent } from "../runtime/agent/port.js";
import { FRAME_TYPES, specFrameFor } from "../runtime/agent/protocol.js";
import { appArgv } from "../runtime/launcher/container-process.js";
import { createOverlayDisk } from "../runtime/vm/overlay-disk.js";
import { buildQemuArgs } from "../runtime/vm/qemu-args.js";
import { prepareHostSide } from "../runtime/vm/qemu-process.js";
import { openVmKit } from "../runtime/vm/kit.js";
import { snapshotFiles } from "../runtime/vm/config.js";
import { resumeMachine } from "../runtime/vm/migration.js";
import { QmpSession } from "../runtime/vm/qmp.js";
import { readSnapshot } from "../runtime/vm/snapshot.js";

const args = process.argv.slice(2);
const resume = args[0] === "--resume";
const [cxCopy, ...cmd] = resume ? args.slice(1) : args;
if (!cxCopy) throw new Error("usage: bare-boot [--resume] <copy of /cx> <cmd…>");
const inCopy = (imagePath: string) => join(cxCopy, imagePath.replace(/^\/cx\//, ""));
// No cgroup limits: the bench's `docker run` gives the container none either.
const kit = await openVmKit({ baseDir: inCopy(LAYOUT.baseDir), limits: {} });
const argv = appArgv(kit.settings.entrypoint, cmd);

const work = await mkdtemp(join(tmpdir(), "cx-bare-"));
const disk = join(work, "disk.qcow2");
await createOverlayDisk(disk, inCopy(resume ? LAYOUT.snapshotDisk : LAYOUT.appDisk));

const vm = kit.vm({ disk, stateDir: work, accel: "tcg", ...(resume ? { snapshot: { mode: "resume", ...snapshotFiles(inCopy(LAYOUT.snapshotDir)) } } : {}) });
await prepareHostSide(vm);
const { binary, args: qemuArgs } = buildQemuArgs(vm);
if (process.env.BARE_BOOT_SHOW) process.stderr.write(`${binary} ${qemuArgs.join(" ")}\n`);

/** The version the snapshot's agent said ready with. */
async function resumedAgent(): Promise<string> {
  const snapshot = await readSnapshot(inCopy(LAYOUT.snapshotDir));
  if (!snapshot || "problem" in snapshot) throw new Error(`the image has no snapshot to resume${snapshot ? `: ${snapshot.problem}` : ""}`);
  return snapshot.agentVersion;
}

const spec = { argv, env: [], cwd: "/", seed: randomBytes(32).toString("hex") };
let qemu: ChildProcess | undefined;
let firstOutputMs: number | undefined;
const server = await listenForAgent(vm.agentSocket!, {
  ready: (link, version) => link.write(specFrameFor(version, spec)),
  frame(frame) {
    if (frame.type === FRAME_TYPES.stdout && firstOutputMs === undefined) {
      firstOutputMs = sinceSpawn();
      qemu?.kill("SIGKILL");
    }
  },
  protocolError: (message) => {
    throw new Error(`guest agent: ${message}`);
  },
}, resume ? await resumedAgent() : undefined);
const started = process.hrtime.bigint();
const sinceSpawn = () => Number(process.hrtime.bigint() - started) / 1e6;
qemu = spawn(binary, qemuArgs, { stdio: "ignore" });

const closed = new Promise((resolve) => qemu!.once("close", resolve));

/** Loads the snapshot as the launcher does; the time until the guest runs again is the share of a resume that is loading. */
async function loadedMs(): Promise<number> {
  const qmp = await QmpSession.connectWhenUp(vm.qmpSocket, closed);
  await resumeMachine(qmp, vm.snapshot!.state);
  qmp.close();
  return sinceSpawn();
}
const load = resume ? loadedMs() : undefined;
await closed;
server.close();
await rm(work, { recursive: true, force: true });
if (firstOutputMs === undefined) throw new Error("the guest exited without output");
console.log([firstOutputMs, ...(load ? [await load] : [])].map(Math.round).join(" "));
