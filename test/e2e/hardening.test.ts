/**
 * Hardening, against the real dockerd and an aarch64 guest (the runtime
 * fixture): the restricted profile a Kubernetes node or a careful user runs
 * with, QEMU's own confinement, many containers at once, faults (QEMU
 * killed, docker stop in the middle of fsyncs, a full guest disk, a damaged
 * snapshot) and bad CX_* input. CX_HARDENING=full adds the heavy parts:
 * twenty containers instead of six, and eight builds at once.
 */
import { test, before, after, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { runCapture } from "../../common/run.js";
import { SETTINGS, type SettingKey } from "../../common/settings.js";
import { buildx, docker, pageAt, publishedPort, startReady } from "./docker.js";
import { fillDisk } from "./disk-fill.js";

const FIXTURE = fileURLToPath(new URL("../../../test/e2e/fixtures/runtime/", import.meta.url));
const IMAGE = "containerx-e2e/hardening";
const PREFIX = `cx-e2e-hard-${process.pid}`;
const FULL = process.env.CX_HARDENING === "full";
const containers: string[] = [];
const images: string[] = [];

/** docker run's locked-down flags: an unprivileged user, nothing writable but /tmp, no capabilities, no privilege gain. */
const RESTRICTED = ["--user", "65534:65534", "--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL", "--security-opt", "no-new-privileges"];

function name(what: string): string {
  const full = `${PREFIX}-${what}`;
  containers.push(full);
  return full;
}

/** docker with a bound: a container that hangs ends it with 124 (timeout's code) instead of stalling the suite. */
const bounded = (args: string[]) => runCapture("timeout", ["-k", "5", "120", "docker", ...args]);

/** A host directory any guest user may write, for a volume. */
async function openDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "cx-e2e-hard-"));
  await chmod(dir, 0o777);
  return dir;
}

/** The host PID of the container's QEMU, and its launcher's (the container's first process). */
async function pids(container: string): Promise<{ qemu: number; launcher: number }> {
  const top = await docker(["top", container, "-eo", "pid,args"]);
  const rows = top.stdout.trim().split("\n").slice(1).map((l) => /^\s*(\d+)\s+(.*)$/.exec(l)!).filter(Boolean);
  const qemu = rows.find((r) => /(^|\/)qemu-system-/.test(r[2].split(" ")[0]));
  assert.ok(qemu, `QEMU runs in ${container}: ${top.stdout}`);
  return { qemu: Number(qemu[1]), launcher: Number(rows[0][1]) };
}

/** Lines of /proc/PID/status as a map. */
async function status(pid: number): Promise<Map<string, string>> {
  const text = await readFile(`/proc/${pid}/status`, "utf8");
  return new Map(text.split("\n").filter(Boolean).map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim()]));
}

/** Peak memory in use on the host (MiB above what was in use before) while `work` runs, sampled every 200 ms. */
async function peakMemory<T>(work: Promise<T>): Promise<{ result: T; peakMiB: number }> {
  const used = async () => {
    const info = await readFile("/proc/meminfo", "utf8");
    const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(info)?.[1]);
    return (kib("MemTotal") - kib("MemAvailable")) / 1024;
  };
  const baseline = await used();
  let peak = baseline;
  let done = false;
  const sampler = (async () => {
    while (!done) {
      peak = Math.max(peak, await used());
      await sleep(200);
    }
  })();
  try {
    return { result: await work, peakMiB: Math.round(peak - baseline) };
  } finally {
    done = true;
    await sampler;
  }
}

before(async () => {
  const built = await runCapture("bash", [join(FIXTURE, "build-image.sh"), IMAGE]);
  assert.equal(built.exitCode, 0, built.stderr.slice(-3000));
  images.push(IMAGE);
});

after(async () => {
  if (containers.length) await docker(["rm", "-f", "-v", ...containers]);
  if (images.length) await docker(["rmi", "-f", ...images]);
});

test("the restricted profile: a volume by 9p and by virtiofs as an unprivileged user, on a read-only root", async () => {
  for (const [fs, env] of [["9p", []], ["virtiofs", ["-e", "CX_VOLUME_FS=virtiofs"]]] as const) {
    const dir = await openDir();
    await writeFile(join(dir, "from-host.txt"), "written on the host\n");
    const ran = await docker(["run", "--rm", ...RESTRICTED, ...env, "-v", `${dir}:/data`, IMAGE, "volume"]);
    assert.equal(ran.exitCode, 0, `${fs}: ${ran.stderr}`);
    assert.equal(ran.stdout, `written on the host\nfs: ${fs}\n`, `${fs}: ${ran.stderr}`);
    assert.equal(await readFile(join(dir, "from-guest.txt"), "utf8"), "written in the guest\n");
    assert.equal(await readFile(join(dir, "sub", "file"), "utf8"), "nested\n");
    await rm(dir, { recursive: true });
  }
  const who = await docker(["run", "--rm", ...RESTRICTED, IMAGE, "args"]);
  assert.match(who.stdout, /cwd: \/opt, uid 65534, gid 65534\n$/, "docker run -u is the guest app's user");
});

test("the restricted profile: an exposed port answers; QEMU runs as the container's user under a seccomp filter of its own", async () => {
  const server = name("restricted-serve");
  await startReady(server, ["-p", "127.0.0.1::80", ...RESTRICTED, IMAGE, "serve"]);
  const port = await publishedPort(server, 80);
  assert.match((await pageAt(port)).page, /\S/, "the guest's httpd answers through -p");
  const { qemu, launcher } = await pids(server);
  const [q, l] = [await status(qemu), await status(launcher)];
  assert.match(q.get("Uid") ?? "", /^65534\s+65534\s+65534\s+65534$/, "QEMU has the container's user, no other");
  assert.equal(q.get("CapEff"), "0000000000000000", "QEMU has no capabilities");
  assert.equal(q.get("NoNewPrivs"), "1");
  assert.ok(Number(q.get("Seccomp_filters")) > Number(l.get("Seccomp_filters")),
    `QEMU adds its own seccomp filter (-sandbox) to the container's: ${q.get("Seccomp_filters")} vs ${l.get("Seccomp_filters")}`);
});

test("a read-only root with nowhere to keep state: one line names the path and what to give, exit 125", async () => {
  const ran = await docker(["run", "--rm", "--user", "65534:65534", "--read-only", IMAGE]);
  assert.equal(ran.exitCode, 125);
  assert.equal(ran.stderr, "containerx: the container's state directory /tmp/cx-state is not writable (read-only file system): " +
    "give the container a writable /tmp (docker run --tmpfs /tmp, or a volume there), or set CX_STATE_DIR to a writable directory\n");
  const root = await docker(["run", "--rm", "--read-only", IMAGE]);
  assert.equal(root.exitCode, 125);
  assert.match(root.stderr, /^containerx: the container's state directory \/cx\/state is not writable \(read-only file system\): .*--tmpfs \/cx\/state.*\n$/);
  const given = await docker(["run", "--rm", "--read-only", "--tmpfs", "/cx/state", IMAGE]);
  assert.equal(given.exitCode, 0, given.stderr);
});

test("the frontend image declares that it needs no network", async () => {
  const label = await docker(["image", "inspect", "-f", '{{index .Config.Labels "moby.buildkit.frontend.network.none"}}', "containerx/frontend"]);
  assert.equal(label.stdout.trim(), "true");
});

test("QEMU killed with SIGKILL: the container ends at once, non-zero, with a one-line reason; the image still runs", async () => {
  const victim = name("sigkill");
  await startReady(victim, [IMAGE, "sleep"]);
  const { qemu } = await pids(victim);
  const killed = Date.now();
  process.kill(qemu, "SIGKILL");
  const waited = await docker(["wait", victim]);
  const seconds = (Date.now() - killed) / 1000;
  assert.equal(waited.stdout.trim(), "125");
  assert.ok(seconds < 5, `the container ended ${seconds}s after QEMU was killed`);
  assert.equal((await docker(["logs", victim])).stderr, "containerx: QEMU was killed by SIGKILL before the app finished (no message)\n");
  const again = await docker(["run", "--rm", IMAGE]);
  assert.equal(again.exitCode, 0, again.stderr);
});

test("docker stop while the app fsyncs a volume line by line: every line reported synced is on the host, over 9p and virtiofs", async (t) => {
  for (const [fs, env] of [["9p", []], ["virtiofs", ["-e", "CX_VOLUME_FS=virtiofs"]]] as const) {
    const dir = await openDir();
    const writer = name(`fsync-${fs}`);
    const started = await docker(["run", "-d", "--name", writer, ...env, "-v", `${dir}:/data`, IMAGE, "sync-loop"]);
    assert.equal(started.exitCode, 0, started.stderr);
    for (let i = 0; i < 300 && !/synced 20\n/.test((await docker(["logs", writer])).stdout); i++) await sleep(100);
    assert.equal((await docker(["stop", "-t", "20", writer])).exitCode, 0);
    const reported = [...(await docker(["logs", writer])).stdout.matchAll(/^synced (\d+)$/gm)].map((m) => Number(m[1]));
    const last = Math.max(...reported);
    const lines = (await readFile(join(dir, "synced.log"), "utf8")).split("\n").filter(Boolean);
    assert.ok(last >= 20, `${fs}: the app synced lines before the stop (${last})`);
    assert.deepEqual(lines.slice(0, last), Array.from({ length: last }, (_, i) => `line ${i + 1}`), `${fs}: lines 1 to ${last} on the host, in order`);
    t.diagnostic(`${fs}: ${last} lines reported synced, ${lines.length} on the host after docker stop`);
    await rm(dir, { recursive: true });
  }
});

test("the guest's disk full: the app sees ENOSPC, the container exits with the app's code, the next container is unaffected; the container's own disk full under it: 125 and the reason", async () => {
  const filled = await docker(["run", "--rm", IMAGE, "fill"]);
  assert.equal(filled.exitCode, 7, filled.stderr);
  assert.equal(filled.stdout, "No space left on device\n");
  const next = await docker(["run", "--rm", IMAGE]);
  assert.equal(next.exitCode, 0, next.stderr);
  assert.match(next.stdout, /^args: default\n/);
  // The guest's disk is a qcow2 in the state directory: 16 MiB there fill before the guest's own disk does, and QEMU pauses the guest.
  const starved = await bounded(["run", "--rm", "--tmpfs", "/small:size=16m", "-e", "CX_STATE_DIR=/small", IMAGE, "fill"]);
  assert.equal(starved.exitCode, 125, starved.stderr);
  assert.match(starved.stderr, /^containerx: no space left on the disk holding the guest's disk \(\/small: \d+ MiB free\): QEMU paused the guest when a write to it failed\n$/);
});

/** A Cxfile on the fixture's base whose app prints /etc/which, written there by `run`. */
async function whichContext(run: string): Promise<string> {
  const ctx = await mkdtemp(join(tmpdir(), "cx-e2e-hard-ctx-"));
  await writeFile(join(ctx, "Cxfile"), ["# syntax=containerx/frontend", "base: minimal/aarch64", "run:", `  - ${run}`,
    "entrypoint: [/bin/cat, /etc/which]", ""].join("\n"));
  return ctx;
}

test("the host's disk full during a build: the step fails at once and names the disk; once space is freed the same build succeeds and runs", async (t) => {
  // Unique, so no earlier run's cache answers for the steps that must write.
  const marker = `full-${process.pid}-${Date.now()}`;
  const cases = [
    // The guest's writes go to a qcow2 on the builder's disk: QEMU pauses the guest on ENOSPC, which used to hang the build.
    { step: "run step", run: `dd if=/dev/urandom of=/big bs=1M count=150 conv=fsync 2>/dev/null; echo ${marker}-run > /etc/which`,
      says: /containerx: no space left on the disk holding the guest's disk \([^)]*: \d+ MiB free\): QEMU paused the guest when a write to it failed\n/ },
    // The snapshot's RAM file is a shared mapping on the builder's disk: a page that finds no room kills QEMU with SIGBUS.
    { step: "snapshot", run: `echo ${marker}-snapshot > /etc/which`,
      says: /cx-snapshot: QEMU was killed by SIGBUS before the guest was saved: no space left on the disk holding the snapshot's RAM file \([^)]*: \d+ MiB free\)/ },
  ];
  for (const c of cases) {
    const ctx = await whichContext(c.run);
    const tag = `${IMAGE}:host-full-${c.step.replace(" ", "-")}`;
    images.push(tag);
    const release = await fillDisk(60);
    let failed;
    try {
      failed = await runCapture("timeout", ["-k", "5", "300", "docker", "buildx", "build", "--progress=plain", "-f", join(ctx, "Cxfile"), "-t", tag, ctx]);
    } finally {
      await release();
    }
    assert.notEqual(failed.exitCode, 124, `${c.step}: the build hung on the full disk`);
    assert.notEqual(failed.exitCode, 0, `${c.step}: the build succeeded on a full disk`);
    assert.match(failed.stderr, c.says, `${c.step}: ${failed.stderr.slice(-3000)}`);
    assert.match(failed.stderr, /free space there \(docker builder prune; docker system df shows what uses it\) and build again/);
    t.diagnostic(`${c.step}: ${failed.stderr.split("\n").find((l) => c.says.test(`${l}\n`))?.trim()}`);
    const built = await buildx(ctx, ["-t", tag]);
    assert.equal(built.exitCode, 0, `${c.step}, space freed: ${built.stderr.slice(-3000)}`);
    const ran = await docker(["run", "--rm", tag]);
    // Resumed from its snapshot without a word: nothing the failed build left was taken for a good cache entry.
    assert.deepEqual([ran.exitCode, ran.stdout, ran.stderr], [0, `${marker}-${c.step.split(" ")[0]}\n`, ""], c.step);
    await rm(ctx, { recursive: true });
  }
});

/** A copy of the image with its snapshot damaged by `command` (run in the runtime's shell). */
async function damaged(tag: string, command: string): Promise<string> {
  const image = `${IMAGE}:${tag}`;
  const ctx = await mkdtemp(join(tmpdir(), "cx-e2e-damage-"));
  await writeFile(join(ctx, "Dockerfile"), `FROM ${IMAGE}\nRUN ${command}\n`);
  const built = await runCapture("docker", ["buildx", "build", "--progress=plain", "-t", image, ctx]);
  assert.equal(built.exitCode, 0, built.stderr.slice(-3000));
  images.push(image);
  await rm(ctx, { recursive: true });
  return image;
}

test("a damaged snapshot (bit flips in its state, a short RAM file) boots cold and says why; it never runs the damaged guest", async () => {
  const cases = [
    ["flipped", "printf '\\377\\377\\377\\377' | dd of=/cx/snapshot/state bs=1 seek=4096 conv=notrunc", /the snapshot is damaged: its state file's sha256 differs from the build's/],
    ["short", "truncate -s 1M /cx/snapshot/ram", /the snapshot is damaged: its RAM file is 1048576 bytes, the build wrote \d+/],
  ] as const;
  for (const [tag, command, reason] of cases) {
    const image = await damaged(tag, command);
    const ran = await bounded(["run", "--rm", "--name", name(`damaged-${tag}`), image]);
    assert.equal(ran.exitCode, 0, `${tag}: ${ran.stderr}`);
    assert.equal(ran.stdout, "args: default\nenv: GREETING=hello EXTRA=unset\ncwd: /opt, uid 0, gid 0\n");
    assert.match(ran.stderr, new RegExp(`^containerx: booting the guest, not resuming its snapshot: ${reason.source}\\n$`));
  }
});

/**
 * A bad value for every CX_* setting (the table's type makes a new setting
 * add its row), with what the container says. null: no value is bad.
 */
const BAD_VALUES: Record<SettingKey, { value: string; says: RegExp } | null> = {
  accel: { value: "hvf", says: /CX_ACCEL=hvf: expected auto, kvm or tcg/ },
  memory: { value: "lots", says: /CX_MEMORY=lots: expected a size/ },
  cpus: { value: "0", says: /CX_CPUS=0: must be between 1 and 64/ },
  diskSize: { value: "1M", says: /CX_DISK_SIZE=1M: must be between 64M and 16T/ },
  ports: { value: "80/sctp", says: /CX_PORTS=80\/sctp: '80\/sctp' is not a port/ },
  machine: { value: "no-such-board", says: /^containerx: QEMU exited with code 1 before the app finished \(qemu-system-aarch64: unsupported machine type: "no-such-board"\)$/ },
  cpu: { value: "no-such-core", says: /^containerx: QEMU exited with code 1 before the app finished \(qemu-system-aarch64: unable to find CPU model 'no-such-core'\)$/ },
  // Words the guest kernel does not know it ignores, as Linux does with any command line.
  kernelArgs: null,
  qemuArgs: { value: "-monitor stdio", says: /CX_QEMU_ARGS: argument 1: '-monitor' is not an option/ },
  volumeFs: { value: "nfs", says: /CX_VOLUME_FS=nfs: expected auto, virtiofs or 9p/ },
  net: { value: "tap", says: /CX_NET=tap: expected slirp or passt/ },
  snapshot: { value: "maybe", says: /CX_SNAPSHOT=maybe: expected auto or off/ },
  log: { value: "loud", says: /CX_LOG=loud: expected quiet, info or debug/ },
  kvmProbeSeconds: { value: "0", says: /CX_KVM_PROBE_SECONDS=0: must be between 1 and 600/ },
  entrypoint: { value: "/bin/sh -c", says: /CX_ENTRYPOINT must be a JSON array of strings/ },
  user: { value: "nobody-here", says: /^containerx: user nobody-here not found in the guest's \/etc\/passwd$/ },
  powerdownSeconds: { value: "-1", says: /CX_POWERDOWN_SECONDS=-1: expected a whole number/ },
  gdb: { value: "70000", says: /CX_GDB=70000: must be between 1 and 65535/ },
  gdbWait: { value: "yes", says: /CX_GDB_WAIT=yes: expected 0 or 1/ },
  serial: { value: "tcp:4001 com1", says: /CX_SERIAL: 'com1' is not a serial port such as tcp:4001 or file:\/logs\/uart1.log/ },
  display: { value: "sdl", says: /CX_DISPLAY=sdl: expected off, vnc or web/ },
  stateDir: { value: "/proc/cx-state", says: /state directory \/proc\/cx-state is not writable \(it cannot be created there\)/ },
};

test("a bad value for any CX_* setting ends the container with 125 and a one-line error that says what is wrong", async (t) => {
  const problems: string[] = [];
  for (const key of Object.keys(SETTINGS) as SettingKey[]) {
    const bad = BAD_VALUES[key];
    if (!bad) continue;
    const given = `${SETTINGS[key].name}=${bad.value}`;
    const ran = await bounded(["run", "--rm", "--name", name(`bad-${key}`), "-e", given, IMAGE]);
    const lines = ran.stderr.trimEnd().split("\n");
    t.diagnostic(`${given}: exit ${ran.exitCode}: ${lines.join(" | ")}`);
    // A value the launcher cannot check itself (a machine QEMU does not know) first makes the guest boot instead of resuming, which is said.
    const notes = lines.slice(0, -1).every((l) => l.startsWith("containerx: booting the guest, not resuming its snapshot: ")) && lines.length <= 2;
    if (ran.exitCode !== 125 || !ran.stderr.endsWith("\n") || !lines.every((l) => l.startsWith("containerx: ")) || !notes || !bad.says.test(lines.at(-1)!)) {
      problems.push(`${given}: exit ${ran.exitCode}, stderr ${JSON.stringify(ran.stderr)}`);
    }
  }
  assert.deepEqual(problems, []);
});

test("many containers of one image at once all give their output and exit code (CX_HARDENING=full: twenty)", async (t) => {
  const count = FULL ? 20 : 6;
  const started = Date.now();
  const { result, peakMiB } = await peakMemory(Promise.all(Array.from({ length: count }, (_, i) =>
    docker(["run", "--rm", IMAGE, "args", `container-${i}`]))));
  const seconds = (Date.now() - started) / 1000;
  result.forEach((ran, i) => {
    assert.equal(ran.exitCode, 0, `container ${i}: ${ran.stderr}`);
    assert.match(ran.stdout, new RegExp(`^args: container-${i}\\n`));
  });
  t.diagnostic(`${count} containers at once: all correct in ${seconds.toFixed(1)} s, peak host memory +${peakMiB} MiB`);
});

test("eight builds of different Cxfiles at once all succeed (CX_HARDENING=full)", { skip: !FULL && "CX_HARDENING=full runs it" }, async (t: TestContext) => {
  const contexts = await Promise.all(Array.from({ length: 8 }, (_, i) => whichContext(`echo build-${i} > /etc/which`)));
  const tags = contexts.map((_, i) => `${IMAGE}:build-${i}`);
  images.push(...tags);
  const started = Date.now();
  const { result, peakMiB } = await peakMemory(Promise.all(contexts.map((ctx, i) => buildx(ctx, ["-t", tags[i]]))));
  const seconds = (Date.now() - started) / 1000;
  result.forEach((built, i) => assert.equal(built.exitCode, 0, `build ${i}: ${built.stderr.slice(-2000)}`));
  for (const [i, tag] of tags.entries()) assert.equal((await docker(["run", "--rm", tag])).stdout, `build-${i}\n`);
  t.diagnostic(`8 builds at once: all succeeded in ${seconds.toFixed(1)} s, peak host memory +${peakMiB} MiB`);
  await Promise.all(contexts.map((ctx) => rm(ctx, { recursive: true })));
});

const DAEMON_JSON = "/etc/docker/daemon.json";
const HOST_SETUP = fileURLToPath(new URL("../../../bootstrap/host.sh", import.meta.url));

/**
 * Writes daemon.json with live-restore on or off, and makes dockerd read it
 * (live-restore is one of the settings SIGHUP reloads). Off is written out:
 * a reload keeps the running value of a key the file leaves out.
 */
async function setLiveRestore(on: boolean, original: string): Promise<void> {
  const config = { ...(JSON.parse(original) as Record<string, unknown>), "live-restore": on };
  await writeFile(DAEMON_JSON, `${JSON.stringify(config, null, 2)}\n`);
  assert.equal((await runCapture("pkill", ["-HUP", "-x", "dockerd"])).exitCode, 0);
  for (let i = 0; i < 50; i++) {
    if ((await docker(["info", "--format", "{{.LiveRestoreEnabled}}"])).stdout.trim() === String(on)) return;
    await sleep(100);
  }
  assert.fail(`dockerd did not take live-restore=${on} from ${DAEMON_JSON}`);
}

/** Stops dockerd as a service manager does (SIGTERM, then wait), and starts it again the way the setup does. */
async function restartDockerd(): Promise<void> {
  await runCapture("pkill", ["-TERM", "-x", "dockerd"]);
  for (let i = 0; i < 600 && (await runCapture("pgrep", ["-x", "dockerd"])).exitCode === 0; i++) await sleep(100);
  const started = await runCapture("bash", [HOST_SETUP]);
  assert.equal(started.exitCode, 0, started.stderr);
}

/** The container's state as docker inspect reports it. */
async function state(container: string): Promise<{ Running: boolean; ExitCode: number; Pid: number }> {
  return JSON.parse((await docker(["inspect", "--format", "{{json .State}}", container])).stdout) as { Running: boolean; ExitCode: number; Pid: number };
}

const ticks = async (container: string) => Math.max(0, ...[...(await docker(["logs", container])).stdout.matchAll(/^tick (\d+)$/gm)].map((m) => Number(m[1])));

// Last: it restarts the engine under everything.
test("dockerd restarted under running containers: stopped as an ordinary container is, or, with live-restore, running on with logs, exec and stop", async (t) => {
  const original = await readFile(DAEMON_JSON, "utf8").catch(() => "{}");
  try {
    await setLiveRestore(false, original);
    const app = name("restart-app");
    const ordinary = name("restart-ordinary");
    const always = name("restart-always");
    await startReady(app, [IMAGE, "tick"]);
    await startReady(always, ["--restart", "always", IMAGE, "tick"]);
    // The same image with its entrypoint replaced: a plain process, no guest, behind Docker's own init.
    await startReady(ordinary, ["--init", "--entrypoint", "sh", IMAGE, "-c", "echo ready; exec sleep 600"]);
    await restartDockerd();
    const [appState, ordinaryState] = [await state(app), await state(ordinary)];
    t.diagnostic(`without live-restore: the Containerx container exited ${appState.ExitCode}, the ordinary one ${ordinaryState.ExitCode}`);
    assert.deepEqual([appState.Running, appState.ExitCode], [false, 143]);
    assert.deepEqual([ordinaryState.Running, ordinaryState.ExitCode], [false, 143], JSON.stringify(await docker(["logs", ordinary])));
    // --restart always: back, its guest resumed again, as Docker brings back any such container.
    for (let i = 0; i < 300 && (await docker(["logs", always])).stdout.split("ready").length < 3; i++) await sleep(200);
    assert.equal((await docker(["logs", always])).stdout.split("ready").length - 1, 2, "the --restart always container ran again");
    assert.equal((await state(always)).Running, true);

    await setLiveRestore(true, original);
    const live = name("restart-live");
    await startReady(live, [IMAGE, "tick"]);
    const { qemu } = await pids(live);
    const before = await ticks(live);
    await restartDockerd();
    assert.equal((await state(live)).Running, true, "running on after the restart");
    assert.equal((await pids(live)).qemu, qemu, "the same QEMU");
    for (let i = 0; i < 50 && (await ticks(live)) <= before + 5; i++) await sleep(200);
    const after = await ticks(live);
    assert.ok(after > before + 5, `docker logs goes on after the restart (tick ${before} before, ${after} after)`);
    const exec = await docker(["exec", live, "guest", "uname", "-m"]);
    assert.deepEqual([exec.exitCode, exec.stdout], [0, "aarch64\n"], exec.stderr);
    assert.equal((await docker(["stop", live])).exitCode, 0);
    assert.equal((await state(live)).ExitCode, 143);
    t.diagnostic(`with live-restore: the same QEMU ran on (tick ${before} before the restart, ${after} after), exec reached the guest, docker stop gave 143`);
  } finally {
    // The running value first (a file without the key would leave live-restore on), then the file as it was.
    await setLiveRestore((JSON.parse(original) as Record<string, unknown>)["live-restore"] === true, original);
    await writeFile(DAEMON_JSON, original);
  }
});
