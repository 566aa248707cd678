/**
 * The baseline for bench/boot: one bare qemu-system boot of an image's guest,
 * on the host, with no Docker, no container and no launcher process. The
 * guest files come from a copy of the image's /cx tree; the QEMU command line
 * is the runtime's own (buildQemuArgs with default settings, TCG), so the two
 * boots being compared differ only in what wraps QEMU.
 *
 * Usage: node dist/bench/bare-boot.js <copy of /cx> <argv…>
 * Prints the milliseconds from QEMU's spawn to the app's first output byte.
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LAYOUT } from "../common/layout.js";
import { encodeSpec, FrameDecoder } from "../runtime/launcher/agent-protocol.js";
import { createOverlayDisk } from "../runtime/launcher/overlay-disk.js";
import { buildQemuArgs } from "../runtime/launcher/qemu-args.js";
import { settingsFromEnv } from "../runtime/launcher/settings.js";
import { sizeGuest } from "../runtime/launcher/guest-size.js";
import { readBaseManifest, vmConfigFor } from "../runtime/launcher/vm-config.js";

const [cxCopy, ...argv] = process.argv.slice(2);
if (!cxCopy || argv.length === 0) throw new Error("usage: bare-boot <copy of /cx> <argv…>");
const inCopy = (imagePath: string) => join(cxCopy, imagePath.replace(/^\/cx\//, ""));

const base = await readBaseManifest(inCopy(LAYOUT.baseManifest));
const work = await mkdtemp(join(tmpdir(), "cx-bare-"));
const disk = join(work, "disk.qcow2");
await createOverlayDisk(disk, inCopy(LAYOUT.appDisk));

const vm = vmConfigFor(base, settingsFromEnv({}), { disk, stateDir: work, accel: "tcg", size: sizeGuest({}, {}), baseDir: inCopy(LAYOUT.baseDir) });
await mkdir(vm.idleShareDir);
const { binary, args } = buildQemuArgs(vm);
if (process.env.BARE_BOOT_SHOW) process.stderr.write(`${binary} ${args.join(" ")}\n`);

const server = createServer();
await new Promise<void>((resolve) => server.listen(join(work, "agent.sock"), resolve));
const started = process.hrtime.bigint();
const qemu = spawn(binary, args, { stdio: "ignore" });
let firstOutputMs: number | undefined;
server.on("connection", (sock) => {
  const decoder = new FrameDecoder();
  sock.on("data", (chunk: Buffer) => {
    for (const frame of decoder.push(chunk)) {
      if (frame.type === "R") sock.write(encodeSpec({ argv, env: [], cwd: "/" }));
      if (frame.type === "O" && firstOutputMs === undefined) {
        firstOutputMs = Number(process.hrtime.bigint() - started) / 1e6;
        qemu.kill("SIGKILL");
      }
    }
  });
  sock.on("error", () => undefined);
});
await new Promise((resolve) => qemu.once("close", resolve));
server.close();
await rm(work, { recursive: true, force: true });
if (firstOutputMs === undefined) throw new Error("the guest exited without output");
console.log(Math.round(firstOutputMs));
