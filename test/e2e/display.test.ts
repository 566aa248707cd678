/**
 * The guest's screen (CX_DISPLAY) through docker run -p. An app (a static C
 * program, test/e2e/fixtures/screen/draw.c) paints four bars on a mapping of
 * /dev/fb0 of a guest whose Cxfile asks for the screen, so the build's
 * snapshot has it; a VNC client reads the whole screen back and compares
 * every pixel with the bars, then types a key that the app reads from its
 * input device. On each selected arch with Debian's kernel (bochs-display,
 * VGA on q35), resumed where the arch resumes; where that kernel has no
 * display driver, the build refuses the screen and says why. Then the
 * browser's way in: noVNC's page and its websocket to QEMU's VNC server on
 * one port, and the cold boot and refusal the settings explain.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { ARCHES, type ArchName, type GuestArch } from "../../common/arches.js";
import { LAYOUT, type BaseManifest } from "../../common/layout.js";
import { selectedDebianArches } from "../../guest-bases/arch-selection.js";
import { VNC_PORT, WEB_PORT } from "../../common/display.js";
import { run, runCapture } from "../../common/run.js";
import { buildArchImage, buildx, copyFromImage, docker, publishedPort, startReady } from "./docker.js";
import { ppm, RfbClient, type Frame } from "./rfb.js";

const FIXTURE = fileURLToPath(new URL("../../../test/e2e/fixtures/screen/", import.meta.url));
const BARS = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]] as const;
/** X's keysym of 'a', and the Linux key code the guest reads for it. */
const KEYSYM_A = 0x61;
const KEY_A = 30;
const containers: string[] = [];

after(async () => {
  if (containers.length) await docker(["rm", "-f", ...containers]);
});

/** The fixture on minimal/<arch>: its image, or the build's output where the build refused the screen. */
async function buildScreenImage(arch: ArchName): Promise<{ image: string; refused?: string }> {
  await run(`${ARCHES[arch].crossTriplet}-gcc`, ["-static", "-O2", "-o", join(FIXTURE, "draw"), join(FIXTURE, "draw.c")]);
  const image = `containerx-e2e/screen-${arch}`;
  const built = await buildx(FIXTURE, ["--build-arg", `ARCH=${arch}`, "-t", image]);
  if (built.exitCode !== 0 && /has no driver for the screen/.test(built.stderr)) return { image, refused: built.stderr };
  assert.equal(built.exitCode, 0, built.stderr.slice(-3000));
  return { image };
}

/** Whether the arch's minimal base says its kernel drives the screen (base.json). */
async function baseHasScreen(arch: ArchName): Promise<boolean> {
  const dir = await mkdtemp(join(tmpdir(), "cx-e2e-base-"));
  try {
    await copyFromImage(`containerx/minimal:${arch}`, LAYOUT.baseManifest, join(dir, "base.json"));
    return (JSON.parse(await readFile(join(dir, "base.json"), "utf8")) as BaseManifest).screen === true;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Pixels of `frame` that are not the bar their column should show. */
function wrongPixels(frame: Frame): number {
  let wrong = 0;
  for (let y = 0; y < frame.height; y++) {
    for (let x = 0; x < frame.width; x++) {
      const want = BARS[Math.floor((x * 4) / frame.width)]!;
      const at = (y * frame.width + x) * 3;
      if (frame.rgb[at] !== want[0] || frame.rgb[at + 1] !== want[1] || frame.rgb[at + 2] !== want[2]) wrong++;
    }
  }
  return wrong;
}

// The arches whose minimal base has Debian's kernel; the source-built ones have no display driver.
for (const arch of selectedDebianArches()) {
  test(`${arch}: the app draws on /dev/fb0, a VNC client through -p sees every pixel of it, and a key typed in VNC reaches the app`, async (t) => {
    const screen = await baseHasScreen(arch);
    const { image, refused } = await buildScreenImage(arch);
    if (!screen) {
      assert.match(refused ?? "", new RegExp(`CX_DISPLAY=vnc: the kernel of the minimal/${arch} base has no driver for the screen`), "the build says why");
      t.diagnostic(`${arch}: Debian's kernel has no bochs driver, and the build of a screen there is refused`);
      return;
    }
    assert.equal(refused, undefined);
    const name = `cx-e2e-screen-${arch}-${process.pid}`;
    containers.push(name);
    await startReady(name, ["-e", "CX_LOG=info", "-p", `127.0.0.1::${VNC_PORT}`, image]);
    const logs = await docker(["logs", name]);
    // Where the table says a snapshot cannot resume (malta), the guest boots with its screen.
    if (!(ARCHES[arch] as GuestArch).snapshotUnusable) assert.match(logs.stderr, /^containerx: resuming the guest from the image's build-time snapshot$/m, "the snapshot has the screen");
    assert.match(logs.stderr, new RegExp(`^containerx: the screen: QEMU's VNC server on container port ${VNC_PORT} `, "m"));
    const drawn = /^drawn (\d+)x(\d+) at (\d+) bits per pixel$/m.exec(logs.stdout);
    assert.ok(drawn, logs.stdout);

    const vnc = await RfbClient.open(await publishedPort(name, VNC_PORT));
    try {
      assert.deepEqual([vnc.width, vnc.height], [Number(drawn[1]), Number(drawn[2])], "VNC shows the guest's framebuffer at its size");
      // The driver flushes what the app wrote a little later: ask again until it is all there.
      let frame = await vnc.frame();
      for (let i = 0; i < 50 && wrongPixels(frame) > 0; i++) {
        await sleep(200);
        frame = await vnc.frame();
      }
      const file = join(tmpdir(), `cx-e2e-screen-${arch}.ppm`);
      await writeFile(file, ppm(frame));
      t.diagnostic(`${arch}: ${frame.width}x${frame.height}, ${drawn[3]} bits per pixel in the guest, ${wrongPixels(frame)} pixels differ from the bars; the screen is in ${file}`);
      assert.equal(wrongPixels(frame), 0, `every pixel is its bar's colour (${file})`);
      vnc.key(KEYSYM_A);
    } finally {
      vnc.close();
    }
    const exited = await runCapture("timeout", ["60", "docker", "wait", name]);
    const out = (await docker(["logs", name])).stdout;
    assert.equal(exited.stdout.trim(), "4", out);
    assert.match(out, new RegExp(`^key: ${KEY_A}$`, "m"));
  });
}

/** An HTTP request on a raw socket, the response's head and first bytes after it, as a browser's websocket would see them. */
function rawRequest(port: number, request: string, wantBody: number): Promise<{ head: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(request));
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no answer: ${got.toString("latin1")}`)); }, 20_000);
    socket.on("data", (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      const end = got.indexOf("\r\n\r\n");
      if (end >= 0 && got.length >= end + 4 + wantBody) {
        clearTimeout(timer);
        socket.destroy();
        resolve({ head: got.subarray(0, end).toString("latin1"), body: got.subarray(end + 4) });
      }
    });
    socket.on("error", reject);
  });
}

test("aarch64: CX_DISPLAY=web serves noVNC's page and, on the same port, its websocket to QEMU's VNC server; CX_DISPLAY=off boots without the screen, and a base without a screen driver is refused", async () => {
  const image = "containerx-e2e/screen-aarch64";
  const name = `cx-e2e-screen-web-${process.pid}`;
  containers.push(name);
  await startReady(name, ["-e", "CX_LOG=info", "-e", "CX_DISPLAY=web", "-p", `127.0.0.1::${WEB_PORT}`, image]);
  const logs = await docker(["logs", name]);
  assert.match(logs.stderr, /^containerx: resuming the guest from the image's build-time snapshot$/m, "web or vnc, the machine is the same");
  const port = await publishedPort(name, WEB_PORT);

  const start = await runCapture("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", `http://127.0.0.1:${port}/`]);
  assert.equal(start.stdout, `302 http://127.0.0.1:${port}/vnc.html?autoconnect=1&resize=scale`);
  const page = await runCapture("curl", ["-fsS", `http://127.0.0.1:${port}/vnc.html`]);
  assert.match(page.stdout, /<title>noVNC<\/title>/);
  const script = await runCapture("curl", ["-fsS", "-o", "/dev/null", "-w", "%{content_type}", `http://127.0.0.1:${port}/app/ui.js`]);
  assert.equal(script.stdout, "text/javascript; charset=utf-8", "noVNC's modules load only with a script type");
  const outside = await runCapture("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--path-as-is", `http://127.0.0.1:${port}/../../etc/passwd`]);
  assert.equal(outside.stdout, "404");

  const { head, body } = await rawRequest(port, ["GET /websockify HTTP/1.1", `Host: 127.0.0.1:${port}`, "Upgrade: websocket", "Connection: Upgrade",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Protocol: binary", "", ""].join("\r\n"), 14);
  assert.match(head, /^HTTP\/1\.1 101 /, head);
  assert.match(head, /^Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=$/im, head);
  // A binary frame (0x82) of 12 bytes: the VNC server's greeting.
  assert.deepEqual([body[0], body[1]], [0x82, 12]);
  assert.equal(body.subarray(2, 14).toString("latin1"), "RFB 003.008\n");
  await docker(["rm", "-f", name]);

  const off = await docker(["run", "--rm", "-e", "CX_LOG=info", "-e", "CX_DISPLAY=off", image]);
  assert.match(off.stderr, /^containerx: booting the guest, not resuming its snapshot: the snapshot's machine has a screen, and CX_DISPLAY=off leaves it out$/m, off.stderr);
  assert.equal(off.exitCode, 2, "no screen, no /dev/fb0");

  const mips = await docker(["run", "--rm", "-e", "CX_DISPLAY=vnc", await buildArchImage("mips")]);
  assert.equal(mips.exitCode, 125);
  assert.match(mips.stderr, /CX_DISPLAY=vnc: the kernel of the minimal\/mips base has no driver for the screen/);
});
