/**
 * base: { disk: … } end to end: a user's ext4 disk, from the build context or
 * downloaded over HTTP with its sha256, booted with the minimal base's kernel
 * and agent. The disk here is made on the host like a user would: an ext4
 * image holding a busybox userland plus a marker file.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run, runCapture } from "../../common/run.js";
import { buildx } from "./docker.js";

const IMAGE = "containerx-e2e/disk-base";
const APP = "entrypoint: [/bin/sh, -c, 'cat /etc/byo-marker; echo \"arch $(uname -m), app: $(cat /opt/app.txt)\"; exit 4']\ncopy:\n  - app.txt: /opt/app.txt\n";

let ctx: string;
let server: Server;
let diskSha: string;

const cxfile = (base: string) => writeFile(join(ctx, "Cxfile"), `# syntax=containerx/frontend\nbase: ${base}\n${APP}`);

before(async () => {
  ctx = await mkdtemp(join(tmpdir(), "cx-e2e-disk-"));
  // A userland to start from: the minimal base's disk, taken out of its image.
  const container = (await run("docker", ["create", "containerx/minimal:aarch64", "none"])).trim();
  try {
    await run("docker", ["cp", `${container}:/cx/base/disk.qcow2`, join(ctx, "from-minimal.qcow2")]);
  } finally {
    await run("docker", ["rm", container]);
  }
  const raw = join(ctx, "rootfs.img");
  await run("qemu-img", ["convert", "-O", "raw", join(ctx, "from-minimal.qcow2"), raw]);
  await rm(join(ctx, "from-minimal.qcow2"));
  await writeFile(join(ctx, "marker"), "this is the user's own disk\n");
  await run("/sbin/debugfs", ["-w", "-R", `write ${join(ctx, "marker")} /etc/byo-marker`, raw]);
  await run("qemu-img", ["convert", "-O", "qcow2", raw, join(ctx, "rootfs.qcow2")]);
  await writeFile(join(ctx, "app.txt"), "from the context");
  await writeFile(join(ctx, "zeros.img"), Buffer.alloc(4 << 20));

  const hash = createHash("sha256");
  for await (const chunk of createReadStream(join(ctx, "rootfs.qcow2"))) hash.update(chunk as Buffer);
  diskSha = hash.digest("hex");
  const served = await readFile(join(ctx, "rootfs.qcow2"));
  server = createServer((req, res) => {
    if (req.url === "/rootfs.qcow2") res.end(served);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

test("a raw ext4 disk from the build context boots with the minimal base's kernel and agent", async () => {
  await cxfile("{ disk: rootfs.img, arch: aarch64 }");
  const built = await buildx(ctx, ["-t", IMAGE]);
  assert.equal(built.exitCode, 0, built.stderr.slice(-4000));
  assert.match(built.stderr, /\[base\] import disk rootfs\.img as the OS base/);
  assert.match(built.stderr, /imported: aarch64 disk with kernel \S+ and the Containerx agent/);
  const ran = await runCapture("docker", ["run", "--rm", IMAGE]);
  assert.equal(ran.stdout, "this is the user's own disk\narch aarch64, app: from the context\n", ran.stderr);
  assert.equal(ran.exitCode, 4);
  const label = await run("docker", ["inspect", "-f", "{{index .Config.Labels \"org.containerx.base\"}}", IMAGE]);
  assert.equal(label.trim(), "disk rootfs.img");
});

test("a qcow2 disk downloaded over HTTP is checked against its sha256", async () => {
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/rootfs.qcow2`;
  await cxfile(`{ disk: "${url}", sha256: ${diskSha}, arch: aarch64 }`);
  const built = await buildx(ctx, ["-t", `${IMAGE}-url`]);
  assert.equal(built.exitCode, 0, built.stderr.slice(-4000));
  const ran = await runCapture("docker", ["run", "--rm", `${IMAGE}-url`]);
  assert.equal(ran.stdout, "this is the user's own disk\narch aarch64, app: from the context\n", ran.stderr);

  await cxfile(`{ disk: "${url}", sha256: "${"0".repeat(64)}", arch: aarch64 }`);
  const tampered = await buildx(ctx, ["--no-cache"]);
  assert.notEqual(tampered.exitCode, 0);
  assert.match(tampered.stderr, /digest mismatch/i);
});

test("a context disk with the wrong sha256, or one without ext4, fails the build saying why", async () => {
  await cxfile(`{ disk: rootfs.img, arch: aarch64, sha256: "${"0".repeat(64)}" }`);
  const wrongSum = await buildx(ctx, []);
  assert.notEqual(wrongSum.exitCode, 0);
  assert.match(wrongSum.stderr, /cx-import-base: the disk's sha256 is [0-9a-f]{64}, but base\.sha256 says 0{64}/);

  await cxfile("{ disk: zeros.img, arch: aarch64 }");
  const notExt4 = await buildx(ctx, []);
  assert.notEqual(notExt4.exitCode, 0);
  assert.match(notExt4.stderr, /cx-import-base: the disk is not an ext4 filesystem image/);
});
