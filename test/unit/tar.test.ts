import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile, chmod, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import tar from "tar-stream";
import { runCapture } from "../../common/run.js";
import { extractTar, packTar, treeEntries } from "../../common/tar.js";

const REPO = new URL("../../../", import.meta.url).pathname;

async function tree(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "cx-tar-"));
  await mkdir(join(dir, "sub"));
  await writeFile(join(dir, "b.txt"), "bee");
  await writeFile(join(dir, "a.bin"), Buffer.alloc(70000, 7));
  await writeFile(join(dir, "sub", "x"), "x");
  await chmod(join(dir, "a.bin"), 0o755);
  return dir;
}

/** Each entry's header fields that make an archive differ between machines. */
async function headers(archive: Buffer): Promise<{ name: string; uid: number; gid: number; uname: string; mtime: number; mode: number }[]> {
  const out = [];
  for await (const e of Readable.from(archive).pipe(tar.extract())) {
    out.push({ name: e.header.name, uid: e.header.uid, gid: e.header.gid, uname: e.header.uname, mtime: e.header.mtime.getTime(), mode: e.header.mode });
    e.resume();
  }
  return out;
}

test("an archive of a tree is the same bytes whatever the files' times, sorted, root's, dated as asked", async () => {
  const dir = await tree();
  const when = new Date(1700000000 * 1000);
  const first = await buffer(packTar([...(await treeEntries(dir, "base")), { name: "Dockerfile", kind: "data", data: Buffer.from("FROM scratch\n") }], when));
  await utimes(join(dir, "b.txt"), new Date(5), new Date(5));
  const second = await buffer(packTar([...(await treeEntries(dir, "base")), { name: "Dockerfile", kind: "data", data: Buffer.from("FROM scratch\n") }], when));
  assert.ok(first.equals(second), "the file times on disk do not reach the archive");
  const h = await headers(first);
  assert.deepEqual(h.map((e) => e.name), ["base/", "base/a.bin", "base/b.txt", "base/sub/", "base/sub/x", "Dockerfile"]);
  assert.ok(h.every((e) => e.uid === 0 && e.gid === 0 && e.uname === "" && e.mtime === when.getTime()));
  assert.equal(h[1].mode, 0o755, "modes are kept");
  const listed = await runCapture("tar", ["-tvf", "-"], { input: first });
  assert.equal(listed.exitCode, 0, "GNU tar reads it");
  assert.match(listed.stdout, /-rwxr-xr-x 0\/0\s+70000 2023-11-14 \d\d:\d\d base\/a\.bin/);
  await rm(dir, { recursive: true });
});

test("extracting puts files and directories under the target and refuses a name that climbs out", async () => {
  const into = await mkdtemp(join(tmpdir(), "cx-untar-"));
  const dir = await tree();
  await extractTar(packTar(await treeEntries(dir, "t"), new Date(0)), into);
  assert.equal(await readFile(join(into, "t", "sub", "x"), "utf8"), "x");
  assert.equal((await readFile(join(into, "t", "a.bin"))).length, 70000);
  for (const name of ["../escape", "a/../../escape", "/etc/escape"]) {
    const evil = tar.pack();
    evil.entry({ name, mode: 0o644 }, "no");
    evil.finalize();
    await assert.rejects(extractTar(evil as unknown as Readable, into), /outside the archive's directory/, name);
  }
  await rm(into, { recursive: true });
  await rm(dir, { recursive: true });
});

test("platform-index makes one index of the saved images' manifests, each with its platform, named for docker load", async () => {
  const layout = await mkdtemp(join(tmpdir(), "cx-layout-"));
  const blobs = join(layout, "blobs", "sha256");
  await mkdir(blobs, { recursive: true });
  const put = async (doc: object) => {
    const data = Buffer.from(JSON.stringify(doc));
    const digest = createHash("sha256").update(data).digest("hex");
    await writeFile(join(blobs, digest), data);
    return { digest: `sha256:${digest}`, size: data.length };
  };
  const M = "application/vnd.oci.image.manifest.v1+json";
  const parts = [];
  for (const [architecture, variant] of [["amd64", undefined], ["arm64", "v8"]] as const) {
    const config = await put({ architecture, os: "linux", ...(variant ? { variant } : {}) });
    parts.push({ mediaType: M, ...(await put({ schemaVersion: 2, mediaType: M, config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config }, layers: [] })) });
  }
  await writeFile(join(layout, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: parts }));
  await writeFile(join(layout, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(join(layout, "manifest.json"), "[]");
  const saved = await buffer(packTar([
    { name: "oci-layout", kind: "file", path: join(layout, "oci-layout") },
    { name: "index.json", kind: "file", path: join(layout, "index.json") },
    { name: "manifest.json", kind: "file", path: join(layout, "manifest.json") },
    ...(await treeEntries(join(layout, "blobs"), "blobs")),
  ], new Date(0)));
  const out = join(layout, "image.tar");
  const ran = await runCapture("node", [join(REPO, "dist/bootstrap/platform-index.js"), "containerx/x:latest", out], { input: saved });
  assert.equal(ran.exitCode, 0, ran.stderr);
  const result = await mkdtemp(join(tmpdir(), "cx-index-"));
  await extractTar(createReadStream(out), result);
  const top = JSON.parse(await readFile(join(result, "index.json"), "utf8"));
  assert.deepEqual(top.manifests[0].annotations, { "io.containerd.image.name": "docker.io/containerx/x:latest", "org.opencontainers.image.ref.name": "latest" },
    "named the way containerd records a short name");
  const index = JSON.parse(await readFile(join(result, "blobs", ...top.manifests[0].digest.split(":")), "utf8"));
  assert.deepEqual(index.manifests.map((m: { digest: string; platform: object }) => [m.digest, m.platform]),
    [[parts[0].digest, { architecture: "amd64", os: "linux" }], [parts[1].digest, { architecture: "arm64", os: "linux", variant: "v8" }]]);
  await assert.rejects(readFile(join(result, "manifest.json")), "no Docker archive manifest: the load names the image from index.json");
  await rm(layout, { recursive: true });
  await rm(result, { recursive: true });
});
