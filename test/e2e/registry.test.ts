/**
 * Shipping an app image like any other: a two-platform build pushed to the
 * local registry (Debian's docker-registry on 127.0.0.1:5000, started by
 * bootstrap/host.sh), pulled into the main engine after removal and into a
 * second engine that never saw it, and run in both; and the same Cxfile
 * built from clean caches on both engines, from images published by
 * bootstrap/publish.sh, to the same digests. The app prints a nonce of this
 * run, so no other image has its config.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { cp, mkdtemp, rm, appendFile, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runCapture } from "../../common/run.js";
import { buildSteps, buildx, docker, pushImage } from "./docker.js";
import { startCleanEngine, type CleanEngine } from "./clean-engine.js";

const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const FIXTURE = join(REPO, "test/e2e/fixtures/arches/");
const REGISTRY = "127.0.0.1:5000";
const PLATFORMS = ["linux/amd64", "linux/arm64"];
const INDEX_TYPES = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json";
const MANIFEST_TYPES = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

interface Descriptor { readonly digest: string; readonly platform?: { readonly os: string; readonly architecture: string } }
interface Manifest { readonly config: Descriptor; readonly layers: readonly Descriptor[] }
interface Config { readonly history: readonly { readonly comment?: string; readonly empty_layer?: boolean }[] }

async function registryGet<T>(repo: string, what: string, accept: string): Promise<{ digest: string; body: T }> {
  const res = await fetch(`http://${REGISTRY}/v2/${repo}/${what}`, { headers: { Accept: accept } });
  assert.equal(res.status, 200, `registry ${repo}/${what}`);
  return { digest: res.headers.get("docker-content-digest") ?? "", body: (await res.json()) as T };
}

/** The image index of repo:tag, and each host platform's manifest and config. */
async function pushedImages(repo: string, tag: string) {
  const index = await registryGet<{ manifests: Descriptor[] }>(repo, `manifests/${tag}`, INDEX_TYPES);
  const images = new Map<string, { digest: string; manifest: Manifest; config: Config }>();
  for (const d of index.body.manifests) {
    if (!d.platform || d.platform.os === "unknown") continue;
    const manifest = (await registryGet<Manifest>(repo, `manifests/${d.digest}`, MANIFEST_TYPES)).body;
    const config = (await registryGet<Config>(repo, `blobs/${manifest.config.digest}`, "*/*")).body;
    images.set(`${d.platform.os}/${d.platform.architecture}`, { digest: d.digest, manifest, config });
  }
  return { digest: index.digest, images };
}

/** How many layers at the top of an image Containerx added (base, run steps, app overlay, snapshot), from the config's history. */
const guestLayerCount = (config: Config) =>
  config.history.filter((h) => !h.empty_layer && h.comment?.startsWith("containerx.")).length;

// Docker 20.10, and newer engines on the classic image store, keep one platform per image.
const keepsPlatforms = (await docker(["info", "-f", "{{.DriverStatus}}"])).stdout.includes("io.containerd.snapshotter");
const multiPlatform = keepsPlatforms ? {} : { skip: "this Docker engine keeps one platform per image (no containerd image store)" };

let engine: CleanEngine | undefined;
const contexts: string[] = [];
const images: string[] = [];

before(async () => {
  if (keepsPlatforms) engine = await startCleanEngine();
});

after(async () => {
  for (const image of images) await docker(["rmi", "-f", image]);
  for (const ctx of contexts) await rm(ctx, { recursive: true, force: true });
  await engine?.stop();
});

async function appContext(nonce: string): Promise<string> {
  const ctx = await mkdtemp(join(tmpdir(), "cx-e2e-push-"));
  contexts.push(ctx);
  await cp(FIXTURE, ctx, { recursive: true });
  await appendFile(join(ctx, "app.sh"), `echo ${nonce}\n`);
  return ctx;
}

test("a two-platform aarch64 app is pushed with shared guest layers, and pulls and runs on the main engine and on a clean one", multiPlatform, async () => {
  const nonce = `pushed-${process.pid}-${Date.now()}`;
  const ctx = await appContext(nonce);
  const repo = "containerx-e2e/pushed";
  const image = `${REGISTRY}/${repo}:${process.pid}`;
  images.push(image);

  const built = await buildx(ctx, ["--platform", PLATFORMS.join(","), "-t", image]);
  assert.equal(built.exitCode, 0, built.stderr.slice(-3000));
  await pushImage(image);
  const pushed = await pushedImages(repo, String(process.pid));
  assert.deepEqual([...pushed.images.keys()].sort(), PLATFORMS, "one manifest per host platform");
  const [amd64, arm64] = PLATFORMS.map((p) => pushed.images.get(p)!);
  const guest = guestLayerCount(amd64.config);
  assert.equal(guest, 3, "the OS base, the app overlay and the snapshot");
  assert.deepEqual(amd64.manifest.layers.slice(-guest).map((l) => l.digest), arm64.manifest.layers.slice(-guest).map((l) => l.digest),
    "the guest layers are the same blobs on both platforms");
  assert.notDeepEqual(amd64.manifest.layers.slice(0, -guest).map((l) => l.digest), arm64.manifest.layers.slice(0, -guest).map((l) => l.digest),
    "each platform has its own runtime");
  for (const p of PLATFORMS) {
    const layers = pushed.images.get(p)!.manifest.layers.map((l) => l.digest.slice(7, 19));
    process.stdout.write(`# ${p} layers: runtime ${layers.slice(0, -guest).join(" ")} | guest ${layers.slice(-guest).join(" ")}\n`);
  }
  const inspected = await docker(["buildx", "imagetools", "inspect", image]);
  assert.equal(inspected.exitCode, 0, inspected.stderr);
  for (const p of PLATFORMS) assert.match(inspected.stdout, new RegExp(`Platform:\\s+${p}\\n`));
  process.stdout.write(`# docker buildx imagetools inspect ${image}\n${inspected.stdout.replace(/^/gm, "#   ")}\n`);

  assert.equal((await docker(["rmi", image])).exitCode, 0);
  assert.notEqual((await docker(["image", "inspect", image])).exitCode, 0, "gone from the local image store");
  const pulled = await docker(["pull", image]);
  assert.equal(pulled.exitCode, 0, pulled.stderr);
  // An argument the fixture's app has no case for reaches the appended line.
  const ran = await docker(["run", "--rm", "-e", "CX_LOG=info", image, "show-nonce"]);
  assert.equal(ran.stdout, `${nonce}\n`, ran.stderr);
  assert.equal(ran.exitCode, 0);
  assert.match(ran.stderr, /resuming the guest from the image's build-time snapshot/, "the pulled snapshot resumes");

  const clean = engine!;
  assert.equal((await clean.docker(["image", "ls", "-q"])).stdout.trim(), "", "the clean engine starts with no images");
  const fresh = await clean.docker(["pull", image]);
  assert.equal(fresh.exitCode, 0, fresh.stderr);
  assert.doesNotMatch(fresh.stdout, /Already exists/, "every layer is downloaded");
  process.stdout.write(`# docker pull ${image} (clean engine)\n${fresh.stdout.replace(/^/gm, "#   ")}\n`);
  const cleanRun = await clean.docker(["run", "--rm", "--network", "none", "-e", "CX_LOG=info", image, "show-nonce"]);
  assert.equal(cleanRun.stdout, `${nonce}\n`, cleanRun.stderr);
  assert.equal(cleanRun.exitCode, 0);
  assert.match(cleanRun.stderr, /resuming the guest from the image's build-time snapshot/, "a snapshot made on one engine resumes on another");
});

const MIRROR = `${REGISTRY}/containerx-e2e-mirror`;
let mirrorPublished: Promise<void> | undefined;

/** The frontend, runtime and minimal/aarch64 published to the local registry once, for the clean engine to build from. */
function publishMirror(): Promise<void> {
  mirrorPublished ??= (async () => {
    const published = await runCapture("bash", [join(REPO, "bootstrap/publish.sh"), MIRROR, "minimal/aarch64"]);
    assert.equal(published.exitCode, 0, published.stderr.slice(-3000));
    assert.match(published.stderr, new RegExp(`pushed ${MIRROR}/frontend:latest`));
  })();
  return mirrorPublished;
}

/** The fixture's Cxfile building from the mirror, with `edit` applied. */
async function mirroredCxfile(ctx: string, edit: (text: string) => string = (t) => t): Promise<string> {
  const cxfile = join(ctx, "Cxfile");
  await writeFile(cxfile, edit((await readFile(cxfile, "utf8")).replace(/^# syntax=.*$/m, `# syntax=${MIRROR}/frontend`)));
  return cxfile;
}

test("the same Cxfile and context build to the same digests on two engines from clean caches, from images published to a registry", multiPlatform, async () => {
  await publishMirror();
  const mirror = MIRROR;
  const ctx = await appContext(`repro-${process.pid}`);
  // A snapshot holds the guest's RAM as it happened to be, so reproducible builds leave it out.
  const cxfile = await mirroredCxfile(ctx, (t) => t.replace(/^base: .*$/m, "$&\nguest:\n  snapshot: false"));
  const repo = "containerx-e2e/repro";
  const buildArgs = (tag: string) => ["-f", cxfile, "--platform", PLATFORMS.join(","), "--no-cache", "--provenance=false",
    "--build-arg", "SOURCE_DATE_EPOCH=1700000000", "--build-arg", `CX_IMAGE_PREFIX=${mirror}/`, "-t", `${REGISTRY}/${repo}:${tag}`, ctx];
  const first = await docker(["buildx", "build", ...buildArgs("main")]);
  assert.equal(first.exitCode, 0, first.stderr.slice(-3000));
  await pushImage(`${REGISTRY}/${repo}:main`);
  images.push(`${REGISTRY}/${repo}:main`);
  const second = await engine!.docker(["buildx", "build", ...buildArgs("clean")]);
  assert.equal(second.exitCode, 0, second.stderr.slice(-3000));
  await pushImage(`${REGISTRY}/${repo}:clean`, engine!.docker);

  const [a, b] = await Promise.all([pushedImages(repo, "main"), pushedImages(repo, "clean")]);
  for (const p of PLATFORMS) {
    const [x, y] = [a.images.get(p)!, b.images.get(p)!];
    x.manifest.layers.forEach((layer, i) => assert.equal(layer.digest, y.manifest.layers[i]?.digest, `${p} layer ${i + 1} of ${x.manifest.layers.length}`));
    assert.equal(x.manifest.config.digest, y.manifest.config.digest, `${p} config`);
    assert.equal(x.digest, y.digest, `${p} manifest`);
    process.stdout.write(`# ${p}: manifest ${x.digest} on both engines, ${x.manifest.layers.length} layers equal\n`);
  }
  assert.equal(a.digest, b.digest, "the image index");
  process.stdout.write(`# index ${a.digest} on both engines\n`);
});

for (const type of ["registry", "local"] as const) {
  test(`--cache-to type=${type} on one engine, --cache-from on a clean one: the run step and the snapshot come back CACHED and no guest boots`, multiPlatform, async () => {
    await publishMirror();
    const nonce = `cache-${type}-${process.pid}-${Date.now()}`;
    const ctx = await appContext(nonce);
    const cxfile = await mirroredCxfile(ctx, (t) => t.replace(/^base: .*$/m, `$&\nrun:\n  - echo ${nonce} > /etc/nonce`));
    const cacheDir = join(ctx, "cache");
    const [to, from] = type === "registry"
      ? [`type=registry,ref=${REGISTRY}/containerx-e2e/cache:${process.pid},mode=max`, `type=registry,ref=${REGISTRY}/containerx-e2e/cache:${process.pid}`]
      : [`type=local,dest=${cacheDir},mode=max`, `type=local,src=${cacheDir}`];
    const build = (cli: typeof docker, cache: string[]) => cli(["buildx", "build", "--progress=plain", "-f", cxfile,
      "--build-arg", `CX_IMAGE_PREFIX=${MIRROR}/`, ...cache, ctx]);

    const first = await build(docker, ["--cache-to", to]);
    assert.equal(first.exitCode, 0, first.stderr.slice(-3000));
    assert.match(first.stderr, /booting the aarch64 guest \(TCG\) to run/, "the first build runs the step in a guest");

    const second = await build(engine!.docker, ["--cache-from", from]);
    assert.equal(second.exitCode, 0, second.stderr.slice(-3000));
    const { cached, ran } = buildSteps(second.stderr);
    process.stdout.write(`# clean engine, --cache-from ${from}:\n#   CACHED: ${cached.join(" | ")}\n#   ran: ${ran.join(" | ")}\n`);
    assert.ok(cached.some((s) => s.startsWith(`[run 1/1] echo ${nonce}`)), "the run step is CACHED");
    assert.ok(cached.some((s) => s.startsWith("[snapshot]")), "the snapshot is CACHED");
    assert.doesNotMatch(second.stderr, /booting the aarch64 guest/, "no guest boots");
  });
}
