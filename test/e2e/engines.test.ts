/**
 * The same images, unchanged, under engines other than Docker: containerd's
 * `ctr run` (what a Kubernetes node runs, here Docker's own containerd),
 * podman rootful and rootless, and `podman kube play` of the Pod manifest in
 * examples/kubernetes. Each prints the guest's `uname -m` and returns the
 * app's exit code; ports reach the guest where the engine maps them.
 *
 * This machine's sessions lack CAP_SYS_RESOURCE and cap open files at a hard
 * limit far below podman's default (1048576), so podman, which raises every
 * container's rlimits to its defaults, cannot start any container here
 * ("error setting rlimit type 7"). Where that is so, the tests give podman a
 * containers.conf whose default ulimits the machine allows; the images are
 * untouched.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { CAPABILITIES, hasEffectiveCapability } from "../../common/capabilities.js";
import { LAYOUT } from "../../common/layout.js";
import { runCapture } from "../../common/run.js";
import { buildx, docker, pageAt, publishedPort, pushImage } from "./docker.js";
import { exists } from "../../common/exists.js";

const REGISTRY = "127.0.0.1:5000";
const FIXTURE = fileURLToPath(new URL("../../../test/e2e/fixtures/runtime/", import.meta.url));
const HELLO = fileURLToPath(new URL("../../../examples/hello/", import.meta.url));
const MANIFEST = fileURLToPath(new URL("../../../examples/kubernetes/hello-pod.yaml", import.meta.url));
/** The image examples/kubernetes/hello-pod.yaml names. */
const HELLO_IMAGE = `${REGISTRY}/containerx/hello:latest`;
const IMAGE = `${REGISTRY}/containerx-e2e/engines:latest`;
const ROOTLESS_USER = "cx-rootless";
const ID = `cx-e2e-eng-${process.pid}`;
let conf: string | undefined;

/** Docker's containerd: its own (dockerd-managed) or the system's. */
async function containerdSocket(): Promise<string> {
  for (const socket of ["/var/run/docker/containerd/containerd.sock", "/run/containerd/containerd.sock"]) {
    if (await exists(socket)) return socket;
  }
  assert.fail("no containerd socket found");
}

const ctr = async (args: string[]) => runCapture("timeout", ["-k", "5", "180", "ctr", "-a", await containerdSocket(), "-n", "moby", ...args]);
/** execa adds these to the test's own environment. */
const podmanEnv = (): Record<string, string> => (conf ? { CONTAINERS_CONF: conf } : {});
const podman = (args: string[]) => runCapture("timeout", ["-k", "5", "180", "podman", ...args], { env: podmanEnv() });
/** podman as an ordinary user with subordinate ids, through su's login shell. */
const rootless = (command: string) =>
  runCapture("timeout", ["-k", "5", "300", "su", "-", ROOTLESS_USER, "-c", `${conf ? `CONTAINERS_CONF=${conf} ` : ""}${command}`]);

before(async () => {
  const fixture = await runCapture("bash", [join(FIXTURE, "build-image.sh"), IMAGE]);
  assert.equal(fixture.exitCode, 0, fixture.stderr.slice(-3000));
  const hello = await buildx(HELLO, ["-t", HELLO_IMAGE]);
  assert.equal(hello.exitCode, 0, hello.stderr.slice(-3000));
  await pushImage(IMAGE);
  await pushImage(HELLO_IMAGE);
  // Without CAP_SYS_RESOURCE podman cannot raise a container's hard limits to its defaults.
  if (!(await hasEffectiveCapability(CAPABILITIES.sysResource))) {
    const dir = await mkdtemp(join(tmpdir(), "cx-e2e-podman-"));
    await chmod(dir, 0o755);
    conf = join(dir, "containers.conf");
    await writeFile(conf, '[containers]\ndefault_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]\n');
    await chmod(conf, 0o644);
  }
  for (const image of [IMAGE, HELLO_IMAGE]) {
    const pulled = await podman(["pull", "-q", "--tls-verify=false", image]);
    assert.equal(pulled.exitCode, 0, pulled.stderr);
  }
});

after(async () => {
  await ctr(["container", "rm", `${ID}-ctr`, `${ID}-ctr-user`]);
  await podman(["kube", "down", MANIFEST]);
  await podman(["rm", "-f", `${ID}-serve`]);
  await podman(["rmi", "-f", IMAGE, HELLO_IMAGE]);
  await rootless(`podman rmi -f ${IMAGE}`);
  await docker(["rmi", IMAGE, HELLO_IMAGE]);
  if (conf) await rm(join(conf, ".."), { recursive: true, force: true });
});

test("containerd's ctr runs the image as Docker does: the guest's machine, the app's exit code, as root and as another user", async () => {
  const ran = await ctr(["run", "--rm", "--env", "CX_LOG=info", IMAGE, `${ID}-ctr`, LAYOUT.launcher, "engine", "5"]);
  assert.equal(ran.exitCode, 5, ran.stderr);
  assert.equal(ran.stdout, "machine: aarch64, uid 0\n");
  assert.match(ran.stderr, /resuming the guest from the image's build-time snapshot/);
  assert.doesNotMatch(ran.stderr, /volumes shared/, "ctr's own /run is not a volume");
  const user = await ctr(["run", "--rm", "--user", "65534:65534", IMAGE, `${ID}-ctr-user`, LAYOUT.launcher, "engine", "6"]);
  assert.deepEqual([user.exitCode, user.stdout], [6, "machine: aarch64, uid 65534\n"], user.stderr);
  // ctr leaves the kernel's unprivileged port floor (1024) in the container, where Docker sets 0: port 80 cannot be listened on.
  assert.match(user.stderr, /^containerx: not forwarding 80\/tcp: this container's user may not listen below port 1024 [^\n]*\n$/);
});

test("podman (rootful) runs the image: the guest's machine, the app's exit code, and -p reaches the guest's server", async () => {
  const ran = await podman(["run", "--rm", IMAGE, "engine", "7"]);
  assert.deepEqual([ran.exitCode, ran.stdout], [7, "machine: aarch64, uid 0\n"], ran.stderr);
  const started = await podman(["run", "-d", "--name", `${ID}-serve`, "-p", "127.0.0.1::80", IMAGE, "serve"]);
  assert.equal(started.exitCode, 0, started.stderr);
  const port = await publishedPort(`${ID}-serve`, 80, podman);
  assert.match((await pageAt(port)).page, /\S/, "the guest's httpd answers through podman's -p");
});

test("podman rootless, as an ordinary user with subordinate ids, runs the image", async (t) => {
  if ((await runCapture("id", [ROOTLESS_USER])).exitCode !== 0) {
    const added = await runCapture("useradd", ["--create-home", "--shell", "/bin/sh", ROOTLESS_USER]);
    assert.equal(added.exitCode, 0, added.stderr);
  }
  assert.match(await readFile("/etc/subuid", "utf8"), new RegExp(`^${ROOTLESS_USER}:`, "m"), "useradd gave the user subordinate ids");
  const pulled = await rootless(`podman pull -q --tls-verify=false ${IMAGE}`);
  assert.equal(pulled.exitCode, 0, pulled.stderr);
  // Rootless networking (slirp4netns) opens /dev/net/tun, which udev makes 0666 and this machine leaves 0600.
  const tun = (await runCapture("stat", ["-c", "%a", "/dev/net/tun"])).stdout.trim();
  const network = tun.endsWith("6") ? [] : ["--network", "none"];
  if (network.length) t.diagnostic(`/dev/net/tun is ${tun}: rootless podman runs without a container network (the guest's own slirp still works)`);
  const ran = await rootless(`podman run --rm ${network.join(" ")} ${IMAGE} engine 8`);
  assert.equal(ran.exitCode, 8, ran.stderr);
  assert.equal(ran.stdout, "machine: aarch64, uid 0\n");
});

test("podman kube play of examples/kubernetes/hello-pod.yaml (the restricted Pod Security Standard) runs hello in its guest", async (t) => {
  const manifest = await readFile(MANIFEST, "utf8");
  for (const line of ["runAsNonRoot: true", "allowPrivilegeEscalation: false", "readOnlyRootFilesystem: true", 'drop: ["ALL"]', "type: RuntimeDefault"]) {
    assert.ok(manifest.includes(line), `the manifest sets ${line}`);
  }
  const played = await podman(["kube", "play", "--tls-verify=false", MANIFEST]);
  assert.equal(played.exitCode, 0, played.stderr);
  const container = "containerx-hello-hello";
  let state = "";
  for (let i = 0; i < 300 && state !== "exited"; i++) {
    state = (await podman(["inspect", "-f", "{{.State.Status}}", container])).stdout.trim();
    if (state !== "exited") await sleep(200);
  }
  assert.equal(state, "exited");
  const exit = (await podman(["inspect", "-f", "{{.State.ExitCode}} {{.Config.User}} {{.HostConfig.ReadonlyRootfs}}", container])).stdout.trim();
  assert.equal(exit, "3 65534:65534 true", "hello's exit code 3, as the pod's non-root user, on a read-only root");
  const logs = await podman(["logs", container]);
  assert.match(logs.stdout, /^hello from Containerx: 2 args: \[world\] \[from a pod\]\nmachine: aarch64, kernel Linux \S+\n$/);
  assert.equal(logs.stderr, "hello: exiting with code 3\n", "the guest resumed its snapshot: the launcher had nothing to say");
  t.diagnostic(`kube play: ${logs.stdout.trim().replace(/\n/g, " | ")}; exit ${exit}`);
});
