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
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { LAYOUT } from "../common/layout.js";
import { encodeSpec, FrameDecoder } from "../runtime/launcher/agent-protocol.js";
import { appArgv } from "../runtime/launcher/container-process.js";
import { createOverlayDisk } from "../runtime/launcher/overlay-disk.js";
import { buildQemuArgs } from "../runtime/launcher/qemu-args.js";
import { prepareHostSide } from "../runtime/launcher/qemu-process.js";
import { QmpSession } from "../runtime/launcher/qmp.js";
import { settingsFromEnv } from "../runtime/launcher/settings.js";
import { sizeGuest } from "../runtime/launcher/guest-size.js";
import { readBaseManifest, vmConfigFor } from "../runtime/launcher/vm-config.js";

const args = process.argv.slice(2);
const resume = args[0] === "--resume";
const [cxCopy, ...cmd] = resume ? args.slice(1) : args;
if (!cxCopy) throw new Error("usage: bare-boot [--resume] <copy of /cx> <cmd…>");
const settings = settingsFromEnv(process.env);
const argv = appArgv(settings.entrypoint, cmd);
const inCopy = (imagePath: string) => join(cxCopy, imagePath.replace(/^\/cx\//, ""));

const base = await readBaseManifest(inCopy(LAYOUT.baseManifest));
const work = await mkdtemp(join(tmpdir(), "cx-bare-"));
const disk = join(work, "disk.qcow2");
await createOverlayDisk(disk, inCopy(resume ? LAYOUT.snapshotDisk : LAYOUT.appDisk));

const vm = vmConfigFor(base, settings, {
  disk, stateDir: work, accel: "tcg", size: sizeGuest({}, {}), baseDir: inCopy(LAYOUT.baseDir),
  ...(resume ? { incoming: inCopy(LAYOUT.snapshotState) } : {}),
});
await prepareHostSide(vm);
const { binary, args: qemuArgs } = buildQemuArgs(vm);
if (process.env.BARE_BOOT_SHOW) process.stderr.write(`${binary} ${qemuArgs.join(" ")}\n`);

const spec = encodeSpec({ argv, env: [], cwd: "/", seed: randomBytes(32).toString("hex") });
const server = createServer();
await new Promise<void>((resolve) => server.listen(vm.agentSocket, resolve));
const started = process.hrtime.bigint();
const sinceSpawn = () => Number(process.hrtime.bigint() - started) / 1e6;
const qemu = spawn(binary, qemuArgs, { stdio: "ignore" });
let firstOutputMs: number | undefined;
server.on("connection", (sock) => {
  const decoder = new FrameDecoder();
  // A resumed agent said ready before its snapshot was taken.
  if (resume) sock.write(spec);
  sock.on("data", (chunk: Buffer) => {
    for (const frame of decoder.push(chunk)) {
      if (frame.type === "R") sock.write(spec);
      if (frame.type === "O" && firstOutputMs === undefined) {
        firstOutputMs = sinceSpawn();
        qemu.kill("SIGKILL");
      }
    }
  });
  sock.on("error", () => undefined);
});

/** Polls QEMU's status until the loaded guest runs: the share of a resume that is loading the state. */
async function loadedMs(): Promise<number> {
  let qmp: QmpSession | undefined;
  while (!qmp) qmp = await QmpSession.connect(vm.qmpSocket).catch(() => sleep(2).then(() => undefined));
  for (;;) {
    const { status } = await qmp.execute<{ status: string }>("query-status");
    if (status === "running") break;
    await sleep(2);
  }
  qmp.close();
  return sinceSpawn();
}
const load = resume ? loadedMs() : undefined;
await new Promise((resolve) => qemu.once("close", resolve));
server.close();
await rm(work, { recursive: true, force: true });
if (firstOutputMs === undefined) throw new Error("the guest exited without output");
console.log([firstOutputMs, ...(load ? [await load] : [])].map(Math.round).join(" "));
