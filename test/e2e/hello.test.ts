/**
 * End to end on the real Docker engine: `docker buildx build` runs the
 * containerx/frontend image under BuildKit, `docker run` boots the aarch64
 * guest under QEMU. Needs bootstrap/host.sh and bootstrap/images.sh first
 * (test/run-all.sh does that).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, copyFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runCapture } from "../../common/run.js";
import { buildx } from "./docker.js";

const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const HELLO = join(REPO, "examples/hello");
const IMAGE = "containerx-e2e/hello";


test("hello: the Cxfile builds with docker buildx and runs in an aarch64 guest with the app's exit code", async () => {
  const built = await buildx(HELLO, ["-t", IMAGE]);
  assert.equal(built.exitCode, 0, built.stderr);
  for (const step of ["[base] fetch OS base minimal/aarch64", "[copy] app overlay", "[image] add OS base layer", "[image] add app overlay layer"]) {
    assert.ok(built.stderr.includes(step), `build progress names the step "${step}"`);
  }

  const ran = await runCapture("docker", ["run", "--rm", IMAGE]);
  assert.equal(ran.exitCode, 3, `exit code is the app's: ${ran.stderr}`);
  assert.match(ran.stdout, /^hello from Containerx: 1 args: \[world\]\nmachine: aarch64, kernel Linux /);
  assert.ok(!ran.stdout.includes("exiting"), "the app's stderr is not mixed into stdout");
  assert.equal(ran.stderr, "hello: exiting with code 3\n", "by default the container's stderr is the app's alone");
  const told = await runCapture("docker", ["run", "--rm", "-e", "CX_LOG=info", IMAGE]);
  assert.match(told.stderr, /^containerx: aarch64 guest, TCG: guest aarch64 differs from host \S+\ncontainerx: network by slirp\ncontainerx: resuming the guest from the image's build-time snapshot\nhello: exiting with code 3\n$/, "CX_LOG=info says what the launcher does");

  const args = await runCapture("docker", ["run", "--rm", IMAGE, "one", "two words"]);
  assert.match(args.stdout, /3 args: \[world\] \[one\] \[two words\]/, "docker run arguments follow the entrypoint, replacing the (empty) cmd");
});

test("hello: base, overlay, snapshot and runtime are separate layers, and the base layer is shared by a second app", async () => {
  const history = await runCapture("docker", ["history", "--no-trunc", "--format", "{{.CreatedBy}}", IMAGE]);
  const lines = history.stdout.trim().split("\n");
  assert.match(lines[0], /^containerx: snapshot of the guest/);
  assert.match(lines[1], /^containerx: app overlay/);
  assert.match(lines[2], /^containerx: OS base minimal\/aarch64/);
  assert.ok(lines.slice(3).some((l) => l.includes("cx-launch")), "the runtime's layers are below");

  const ctx = await mkdtemp(join(tmpdir(), "cx-e2e-"));
  await copyFile(join(HELLO, "hello"), join(ctx, "other"));
  await writeFile(join(ctx, "Cxfile"), "# syntax=containerx/frontend\nbase: minimal/aarch64\ncopy:\n  - other: /usr/bin/other\nentrypoint: [/usr/bin/other]\n");
  const built = await buildx(ctx, ["-t", `${IMAGE}-other`]);
  assert.equal(built.exitCode, 0, built.stderr);
  const layers = async (image: string) =>
    JSON.parse((await runCapture("docker", ["image", "inspect", "-f", "{{json .RootFS.Layers}}", image])).stdout) as string[];
  const [a, b] = [await layers(IMAGE), await layers(`${IMAGE}-other`)];
  assert.equal(a.length, b.length);
  assert.deepEqual(a.slice(0, -2), b.slice(0, -2), "runtime and base layers are identical");
  assert.notEqual(a.at(-2), b.at(-2), "the overlays differ");
  assert.notEqual(a.at(-1), b.at(-1), "so do the snapshots, each taken over its own overlay");
  const ran = await runCapture("docker", ["run", "--rm", `${IMAGE}-other`]);
  assert.equal(ran.exitCode, 3);
  assert.match(ran.stdout, /0 args:/);
});

test("a broken Cxfile fails the build with the file, line and a suggestion", async () => {
  const ctx = await mkdtemp(join(tmpdir(), "cx-e2e-"));
  await writeFile(join(ctx, "Cxfile"), "# syntax=containerx/frontend\nbase: minimal/aarch64\ncpoy:\n  - a: /a\n");
  const built = await buildx(ctx, []);
  assert.notEqual(built.exitCode, 0);
  assert.match(built.stderr, /Cxfile:3:1: unknown key 'cpoy' in the Cxfile \(did you mean 'copy'\?\)/);
});

test("each container writes to its own disk; the image is never modified", async () => {
  const write = await runCapture("docker", ["run", "--rm", "-e", "CX_ENTRYPOINT=[]", IMAGE, "/bin/sh", "-c", "echo mine > /opt/hello/state; cat /opt/hello/state"]);
  assert.equal(write.exitCode, 0, write.stderr);
  assert.equal(write.stdout, "mine\n");
  const fresh = await runCapture("docker", ["run", "--rm", "-e", "CX_ENTRYPOINT=[]", IMAGE, "/bin/sh", "-c", "test -e /opt/hello/state; echo $?"]);
  assert.equal(fresh.stdout, "1\n", "a new container does not see another's writes");
});
