/**
 * Instant start: an image's guest is booted once at build time and saved, and
 * `docker run` resumes it. A resumed container must behave exactly as a
 * cold-booted one (output, exit code, environment, volumes), must not share
 * its random state with its siblings, and must boot cold, saying why, when
 * its machine is not the snapshot's. Fixture: test/e2e/fixtures/runtime.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, writeFile, cp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { runCapture } from "../../common/run.js";
import { docker } from "./docker.js";

const FIXTURE = fileURLToPath(new URL("../../../test/e2e/fixtures/runtime/", import.meta.url));
const IMAGE = "containerx-e2e/snapshot";
const NO_SNAPSHOT_IMAGE = "containerx-e2e/snapshot-off";
const RESUMED = /^containerx: resuming the guest from the image's build-time snapshot$/m;
const COLD = /^containerx: booting the guest, not resuming its snapshot: (.*)$/m;
const work: string[] = [];
/** When the snapshot was taken, at the latest. */
let builtAt = 0;

before(async () => {
  const built = await runCapture("bash", [join(FIXTURE, "build-image.sh"), IMAGE]);
  assert.equal(built.exitCode, 0, built.stderr.slice(-3000));
  if (!/\[snapshot\] boot the guest once[^\n]*\n#\d+ CACHED/.test(built.stderr)) {
    assert.match(built.stderr, /containerx: the saved guest holds \/opt\/app\.sh in its page cache/, "the app's program is read before the save");
  }
  const manifest = await docker(["run", "--rm", "--entrypoint", "cat", IMAGE, "/cx/snapshot/snapshot.json"]);
  const saved = JSON.parse(manifest.stdout) as { agentVersion: string; identity: { accel: string; memoryMiB: number } };
  assert.equal(saved.agentVersion, "cx-agent 3");
  assert.deepEqual([saved.identity.accel, saved.identity.memoryMiB], ["tcg", 512]);
  builtAt = Date.now();
});

after(async () => {
  await docker(["rmi", "-f", NO_SNAPSHOT_IMAGE]);
  for (const dir of work) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "cx-snap-"));
  work.push(dir);
  return dir;
}

/** One container run: what the app printed, how it ended, and what it left in a volume; CX_LOG=info, so the launcher says how it started. */
async function observe(extraEnv: string[]): Promise<{ results: string[]; stderrs: string[] }> {
  const data = await tempDir();
  await writeFile(join(data, "from-host.txt"), "written on the host\n");
  const env = ["CX_LOG=info", ...extraEnv].flatMap((e) => ["-e", e]);
  const runs = [
    await docker(["run", "--rm", ...env, "-e", "EXTRA=x y", "-w", "/tmp", "-u", "1000:100", IMAGE, "args", "a", "b c"]),
    await docker(["run", "--rm", "-i", ...env, IMAGE, "io"], "through stdin\n"),
    await docker(["run", "--rm", ...env, "-v", `${data}:/data`, IMAGE, "volume"]),
    await docker(["run", "--rm", ...env, "-e", 'CX_ENTRYPOINT=["/bin/sh","-c","echo exiting; exit 7"]', IMAGE]),
  ];
  const results = runs.map((r) => `${r.stdout.replace(/^fs: .*$/m, "fs: (either)")}[exit ${r.exitCode}]`);
  results.push(await readFile(join(data, "from-guest.txt"), "utf8"), await readFile(join(data, "sub", "file"), "utf8"));
  return { results, stderrs: runs.map((r) => r.stderr) };
}

test("a resumed container behaves as a cold-booted one: output, exit code, environment, stdin, volumes", async () => {
  const resumed = await observe([]);
  const cold = await observe(["CX_SNAPSHOT=off"]);
  for (const stderr of resumed.stderrs) assert.match(stderr, RESUMED);
  for (const stderr of cold.stderrs) assert.equal(COLD.exec(stderr)?.[1], "CX_SNAPSHOT=off", stderr);
  assert.deepEqual(resumed.results, cold.results);
  assert.equal(resumed.results[0], "args: a b c\nenv: GREETING=hello EXTRA=x y\ncwd: /tmp, uid 1000, gid 100\n[exit 0]");
  assert.equal(resumed.results[1], "to stdout\nTHROUGH STDIN\n[exit 0]");
  assert.equal(resumed.results[2], "written on the host\nfs: (either)\n[exit 0]");
  assert.equal(resumed.results[3], "exiting\n[exit 7]");
  assert.deepEqual(resumed.results.slice(4), ["written in the guest\n", "nested\n"]);
  // Docker lists the image's VOLUME (/state) and the -v mount in no fixed order.
  const shared = /^containerx: volumes shared by 9p \(the guest resumes its build-time snapshot, whose volume slots are 9p\): (.*)$/m.exec(resumed.stderrs[2]);
  assert.deepEqual(shared?.[1].split(", ").sort(), ["/data", "/state"], resumed.stderrs[2]);
});

test("two containers resumed from one image get different random values and boot ids, and the host's clock", async () => {
  // A snapshot clock left as it was would be this far behind at least.
  await sleep(Math.max(0, builtAt + 8000 - Date.now()));
  const runs: (Awaited<ReturnType<typeof docker>> & { window: [number, number] })[] = [];
  for (let i = 0; i < 2; i++) {
    const before = Math.floor(Date.now() / 1000);
    const ran = await docker(["run", "--rm", "-e", "CX_LOG=info", IMAGE, "random"]);
    runs.push({ ...ran, window: [before, Math.ceil(Date.now() / 1000)] });
  }
  for (const r of runs) {
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stderr, RESUMED);
    assert.match(r.stdout, /^random: [0-9a-f]{32}\nboot_id: [0-9a-f-]{36}\nclock: \d+\n$/);
    const guestClock = Number(/clock: (\d+)/.exec(r.stdout)![1]);
    assert.ok(guestClock >= r.window[0] && guestClock <= r.window[1],
      `the guest's clock (${guestClock}) is the host's during its docker run (${r.window.join("-")}), not the build's`);
  }
  const [a, b] = runs.map((r) => r.stdout.split("\n"));
  assert.notEqual(a[0], b[0], "random bytes");
  assert.notEqual(a[1], b[1], "boot id");
});

test("a container whose machine is not the snapshot's boots cold and says why in one line", async () => {
  const memory = await docker(["run", "--rm", "-e", "CX_MEMORY=384M", IMAGE, "resources"]);
  assert.equal(memory.exitCode, 0, memory.stderr);
  assert.equal(COLD.exec(memory.stderr)?.[1], "the guest gets 384M of memory (CX_MEMORY, or the container's memory limit), the snapshot has 512M");
  assert.match(memory.stdout, /^memory: 3\d\d MiB\ncpus: 1\n$/);

  const limited = await docker(["run", "--rm", "--memory", "1g", IMAGE, "resources"]);
  assert.match(COLD.exec(limited.stderr)?.[1] ?? "", /the container's memory limit/);

  const extra = await docker(["run", "--rm", "-e", "CX_QEMU_ARGS=-device virtio-rng-pci", IMAGE, "args"]);
  assert.equal(extra.exitCode, 0, extra.stderr);
  assert.match(COLD.exec(extra.stderr)?.[1] ?? "", /CX_QEMU_ARGS/);

  const data = await tempDir();
  await writeFile(join(data, "from-host.txt"), "virtiofs\n");
  const virtiofs = await docker(["run", "--rm", "-e", "CX_VOLUME_FS=virtiofs", "-v", `${data}:/data`, IMAGE, "volume"]);
  assert.equal(virtiofs.exitCode, 0, virtiofs.stderr);
  assert.match(COLD.exec(virtiofs.stderr)?.[1] ?? "", /virtiofs volumes need devices the snapshot does not have/);
  assert.match(virtiofs.stdout, /^virtiofs\nfs: virtiofs\n$/);

  for (const out of [memory, limited, extra, virtiofs]) {
    assert.equal(out.stderr.split("\n").filter((l) => /snapshot/.test(l)).length, 1, `one line about the snapshot:\n${out.stderr}`);
  }
});

test("a restarted container boots cold: its disk has moved on from the snapshot's", async () => {
  const name = `cx-e2e-snap-${process.pid}`;
  try {
    const first = await docker(["run", "--name", name, "-e", "CX_LOG=info", IMAGE, "write", "kept"]);
    assert.equal(first.stdout, "kept\n", first.stderr);
    assert.match(first.stderr, RESUMED);
    const again = await docker(["start", "-a", name]);
    assert.equal(again.stdout, "kept\n", again.stderr);
    assert.equal(COLD.exec(again.stderr)?.[1], "this container ran before, and its disk has moved on from the snapshot's");
  } finally {
    await docker(["rm", "-f", "-v", name]);
  }
});

test("guest.snapshot: false builds no snapshot, and its containers boot without a word about one", async () => {
  const ctx = await tempDir();
  await cp(FIXTURE, ctx, { recursive: true });
  const cxfile = join(ctx, "Cxfile");
  await writeFile(cxfile, (await readFile(cxfile, "utf8")).replace("base: minimal/aarch64\n", "base: minimal/aarch64\nguest:\n  snapshot: false\n"));
  const built = await runCapture("bash", [join(ctx, "build-image.sh"), NO_SNAPSHOT_IMAGE]);
  assert.equal(built.exitCode, 0, built.stderr.slice(-3000));
  assert.doesNotMatch(built.stderr, /\[snapshot\]/);
  const ran = await docker(["run", "--rm", NO_SNAPSHOT_IMAGE]);
  assert.equal(ran.exitCode, 0, ran.stderr);
  assert.match(ran.stdout, /^args: default\n/);
  assert.doesNotMatch(ran.stderr, /snapshot/);
  const listing = await docker(["run", "--rm", "--entrypoint", "ls", NO_SNAPSHOT_IMAGE, "/cx"]);
  assert.equal(listing.stdout.split("\n").includes("snapshot"), false);
});
