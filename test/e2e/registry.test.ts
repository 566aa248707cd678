/**
 * Shipping an app image like any other: docker buildx build --push to the
 * local registry (Debian's docker-registry on 127.0.0.1:5000, started by
 * bootstrap/host.sh), removed locally, then docker pull and docker run from
 * the registry. The app prints a nonce of this run, so no other image has its
 * config. Its layers stay in the engine's build cache after the removal, so
 * the pull checks the registry's manifest and config by digest rather than
 * downloading every layer again; a pull into an empty image store belongs
 * with the multi-platform work on the containerd image store (issue 7).
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { cp, mkdtemp, rm, appendFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildx, docker } from "./docker.js";

const FIXTURE = fileURLToPath(new URL("../../../test/e2e/fixtures/arches/", import.meta.url));
const REGISTRY = "127.0.0.1:5000";
const IMAGE = `${REGISTRY}/containerx-e2e/pushed:${process.pid}`;
let ctx: string | undefined;

after(async () => {
  await docker(["rmi", "-f", IMAGE]);
  if (ctx) await rm(ctx, { recursive: true, force: true });
});

test("an app image pushed to a registry, removed locally, pulls and runs from the registry", async () => {
  ctx = await mkdtemp(join(tmpdir(), "cx-e2e-push-"));
  await cp(FIXTURE, ctx, { recursive: true });
  const nonce = `pushed-${process.pid}-${Date.now()}`;
  await appendFile(join(ctx, "app.sh"), `echo ${nonce}\n`);

  const built = await buildx(ctx, ["--push", "-t", IMAGE]);
  assert.equal(built.exitCode, 0, built.stderr.slice(-3000));
  const manifest = await fetch(`http://${REGISTRY}/v2/containerx-e2e/pushed/manifests/${process.pid}`, {
    headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json" },
  });
  assert.equal(manifest.status, 200, "the registry has the manifest");
  const pushed = (await manifest.json()) as { config: { digest: string }; layers: unknown[] };
  assert.ok(pushed.layers.length >= 3, `base, runtime and app layers in the registry: ${pushed.layers.length}`);
  assert.equal((await docker(["image", "inspect", "-f", "{{.Id}}", IMAGE])).stdout.trim(), pushed.config.digest, "the registry holds the image that was built");

  assert.equal((await docker(["rmi", IMAGE])).exitCode, 0);
  assert.notEqual((await docker(["image", "inspect", IMAGE])).exitCode, 0, "gone from the local image store");

  const pulled = await docker(["pull", IMAGE]);
  assert.equal(pulled.exitCode, 0, pulled.stderr);
  assert.match(pulled.stdout, /Digest: sha256:[0-9a-f]{64}/);
  assert.equal((await docker(["image", "inspect", "-f", "{{.Id}}", IMAGE])).stdout.trim(), pushed.config.digest, "the pulled image is the pushed one");
  // An argument the fixture's app has no case for reaches the appended line.
  const ran = await docker(["run", "--rm", IMAGE, "show-nonce"]);
  assert.equal(ran.stdout, `${nonce}\n`, ran.stderr);
  assert.equal(ran.exitCode, 0);
});
