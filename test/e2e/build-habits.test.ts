/**
 * What a Dockerfile user relies on from `docker buildx build`, with a
 * Cxfile, on the real engine: build secrets, and what a failing step shows.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCapture } from "../../common/run.js";
import { buildSteps, buildx, docker } from "./docker.js";
import { layerCount, searchBlobs } from "./layer-search.js";

const IMAGE = "containerx-e2e/habits";

async function context(cxfile: string[]): Promise<string> {
  const ctx = await mkdtemp(join(tmpdir(), "cx-e2e-habits-"));
  await writeFile(join(ctx, "Cxfile"), ["# syntax=containerx/frontend", ...cxfile, ""].join("\n"));
  return ctx;
}

test("a run step reads a build secret at /run/secrets/<id>, for that step only, and no layer keeps it", async () => {
  const secret = `cx-secret-${randomBytes(12).toString("hex")}`;
  const marker = `cx-marker-${randomBytes(12).toString("hex")}`;
  const ctx = await context([
    "base: minimal/aarch64",
    "run:",
    "  - command: >-",
    "      test \"$(stat -c '%a %u' /run/secrets/token)\" = '400 0' &&",
    // Its hash, not the secret: the Cxfile is part of the build's cache key and progress.
    `      test "$(sha256sum < /run/secrets/token)" = "${createHash("sha256").update(secret).digest("hex")}  -" &&`,
    `      echo ${marker} > /etc/marker && echo read the secret`,
    "    secrets: [token, { id: spare, required: false }]",
    "  - test ! -e /run/secrets/token && echo no secret in the next step",
    "entrypoint: [cat, /etc/marker]",
  ]);
  await writeFile(join(ctx, "token.txt"), secret);
  const out = join(ctx, "oci");
  await mkdir(out);
  const built = await buildx(ctx, ["--no-cache", "--secret", `id=token,src=${join(ctx, "token.txt")}`,
    "--output", `type=oci,dest=${join(ctx, "image.tar")}`]);
  assert.equal(built.exitCode, 0, built.stderr);
  assert.match(built.stderr, /read the secret/);
  assert.match(built.stderr, /no secret in the next step/);

  assert.equal((await runCapture("tar", ["-xf", join(ctx, "image.tar"), "-C", out])).exitCode, 0);
  const [withSecret, withMarker] = await searchBlobs(out, [secret, marker]);
  const layers = await layerCount(out);
  process.stderr.write(`secret search: ${layers} layers decompressed and searched; secret in ${withSecret.length}, marker in ${withMarker.length}\n`);
  assert.ok(withMarker.length > 0, "the search finds what the step wrote to the guest disk, so it would find the secret too");
  assert.deepEqual(withSecret, [], "no blob holds the secret");

  // As with Dockerfile, the secret's content is no part of the cache key: only an uncached step misses it.
  const missing = await buildx(ctx, ["--no-cache", "-t", IMAGE]);
  assert.notEqual(missing.exitCode, 0, "a required secret not given fails the build");
  assert.match(missing.stderr, /secret token: not found/);
  await rm(ctx, { recursive: true, force: true });
});

test("the proxy build args reach run steps undeclared, outside the cache key and the image; an unused build arg is warned about", async () => {
  const nonce = `${process.pid}-${Date.now()}`;
  const ctx = await context([
    "args:",
    "  GREETING: hi",
    "base: minimal/aarch64",
    `run:\n  - echo "proxy=$HTTP_PROXY,$http_proxy,$NO_PROXY greeting=$GREETING ${nonce}"`,
    "entrypoint: [env]",
  ]);
  const built = await buildx(ctx, ["--build-arg", "UNDECLARED=1", "--build-arg", "HTTP_PROXY=http://10.0.2.2:3128", "--build-arg", "no_proxy=example.org",
    "-t", IMAGE]);
  assert.equal(built.exitCode, 0, built.stderr);
  assert.match(built.stderr, new RegExp(`proxy=http://10\\.0\\.2\\.2:3128,http://10\\.0\\.2\\.2:3128,example\\.org greeting=hi ${nonce}`));
  // buildx lists the warnings at the end (and on the Cxfile's step, when that is still on screen).
  assert.match(built.stderr, /warning found[^\n]*\n.* - build-arg UNDECLARED is not declared under args: in Cxfile, so nothing uses it\n/);
  assert.doesNotMatch(built.stderr, /HTTP_PROXY is not declared|no_proxy is not declared/, "the proxy args are Docker's own");

  const inspected = await docker(["image", "inspect", "-f", "{{json .Config.Env}}", IMAGE]);
  assert.doesNotMatch(inspected.stdout, /proxy/i, "no proxy setting in the image config");
  const rebuilt = await buildx(ctx, ["--build-arg", "HTTP_PROXY=http://10.0.2.2:8080"]);
  assert.equal(rebuilt.exitCode, 0, rebuilt.stderr);
  assert.ok(buildSteps(rebuilt.stderr).cached.some((s) => s.startsWith("[run 1/1]")), "another proxy leaves the run step cached");
  await rm(ctx, { recursive: true, force: true });
});

test("guest.disk_size and CX_DISK_SIZE grow the guest disk, its filesystem grown before the app starts; smaller than the image's is an error", async () => {
  // A step of this run's own, so an earlier run's cache cannot stand in for it.
  const nonce = `${process.pid}-${Date.now()}`;
  const ctx = await context([
    "base: minimal/aarch64",
    "guest: { disk_size: 1536M }",
    "run:",
    `  - test "$(df -k / | awk 'NR==2 {print $2}')" -gt 1400000 && echo build-time disk is 1.5G ${nonce}`,
    "entrypoint: [/bin/sh, -c]",
    "cmd: [\"df -k / | awk 'NR==2 {print $2}'\"]",
  ]);
  const built = await buildx(ctx, ["-t", IMAGE]);
  assert.equal(built.exitCode, 0, built.stderr);
  assert.match(built.stderr, /build-time disk is 1\.5G/);
  const sizeKiB = async (env: string[], cmd: string[] = []) => {
    const ran = await docker(["run", "--rm", ...env, IMAGE, ...cmd]);
    assert.equal(ran.exitCode, 0, ran.stderr);
    return ran;
  };
  const kept = Number((await sizeKiB([])).stdout.trim());
  assert.ok(kept > 1_400_000 && kept < 1_600_000, `the image's size at run time: ${kept} KiB`);

  // A file larger than the image's whole disk fits once CX_DISK_SIZE grows it.
  const grown = await sizeKiB(["-e", "CX_DISK_SIZE=3G"],
    ["df -h / | tail -1 && dd if=/dev/zero of=/big bs=1M count=1700 2>/dev/null && sync && ls -l /big | awk '{print $5}' && df -k / | awk 'NR==2 {print $2}'"]);
  const [dfLine, written, total] = grown.stdout.trim().split("\n");
  process.stdout.write(`# df -h / with CX_DISK_SIZE=3G: ${dfLine}\n`);
  assert.equal(Number(written), 1700 * 1024 * 1024, "a 1700 MiB file was written");
  assert.ok(Number(total) > 2_900_000, `the filesystem filled the 3G disk: ${total} KiB`);

  const small = await docker(["run", "--rm", "-e", "CX_DISK_SIZE=512M", IMAGE]);
  assert.equal(small.exitCode, 125);
  assert.match(small.stderr, /CX_DISK_SIZE=512M \(or the Cxfile's guest\.disk_size\) is smaller than the image's guest disk: the minimum is 1536M/);
  await docker(["rmi", IMAGE]);
  await rm(ctx, { recursive: true, force: true });
});

test("named contexts: copy from a --build-context directory and from an image, and a base replaced by --build-context", async () => {
  const ctx = await context([
    "base: minimal/aarch64",
    "copy:",
    "  - { from: assets, src: \"*.txt\", dest: /opt/assets/ }",
    "  - { from: containerx/frontend, src: /opt/containerx/package.json, dest: /etc/frontend-package.json }",
    "entrypoint: [/bin/sh, -c, \"cat /opt/assets/*.txt && grep -c containerx /etc/frontend-package.json\"]",
  ]);
  const assets = await mkdtemp(join(tmpdir(), "cx-e2e-assets-"));
  await writeFile(join(assets, "a.txt"), "asset a\n");
  await writeFile(join(assets, "b.txt"), "asset b\n");
  await writeFile(join(assets, "skip.bin"), "not copied\n");
  const alias = "containerx-e2e/minimal-alias:aarch64";
  assert.equal((await docker(["tag", "containerx/minimal:aarch64", alias])).exitCode, 0);

  const built = await buildx(ctx, ["--build-context", `assets=${assets}`,
    "--build-context", `containerx/minimal:aarch64=docker-image://${alias}`, "-t", IMAGE]);
  assert.equal(built.exitCode, 0, built.stderr);
  const ran = await docker(["run", "--rm", IMAGE]);
  assert.equal(ran.exitCode, 0, ran.stderr);
  assert.match(ran.stdout, /^asset a\nasset b\n[1-9]\d*\n$/);

  const missing = await buildx(ctx, ["--build-context", `assets=${assets}`,
    "--build-context", "containerx/minimal:aarch64=docker-image://containerx-e2e/no-such-base:1"]);
  assert.notEqual(missing.exitCode, 0, "the replaced base is the one pulled");
  assert.match(missing.stderr, /containerx-e2e\/no-such-base:1/);
  await docker(["rmi", alias, IMAGE]);
  await rm(assets, { recursive: true, force: true });
  await rm(ctx, { recursive: true, force: true });
});
