import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { debugfsScripts } from "../../runtime/populate/debugfs-script.js";
import { expandGlob } from "../../common/glob.js";
import { guestEntries, populate } from "../../runtime/populate/populate.js";
import { run } from "../../common/run.js";

async function context(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "cx-ctx-"));
  await mkdir(join(root, "bin"));
  await mkdir(join(root, "conf/sub"), { recursive: true });
  for (const f of ["bin/a", "bin/b", "bin/c.txt", "conf/app.conf", "conf/sub/x", "top"]) await writeFile(join(root, f), f);
  return root;
}

test("globs match one path segment each, sorted", async () => {
  const root = await context();
  const list = (dir: string) => readdir(join(root, dir)).catch(() => []);
  assert.deepEqual(await expandGlob(list, "bin/*"), ["bin/a", "bin/b", "bin/c.txt"]);
  assert.deepEqual(await expandGlob(list, "bin/[ab]"), ["bin/a", "bin/b"]);
  assert.deepEqual(await expandGlob(list, "*/app.?onf"), ["conf/app.conf"]);
  assert.deepEqual(await expandGlob(list, "bin/*.so"), []);
});

test("copy entries expand to guest entries: globs, directory contents, mode and owner", async () => {
  const root = await context();
  const entries = await guestEntries([
    { source: join(root, "bin/*"), dest: "/usr/bin/", mode: 0o755 },
    { source: join(root, "conf"), dest: "/etc/app", owner: { uid: 1000, gid: 100 } },
    { source: join(root, "top"), dest: "/opt/top" },
  ], root);
  assert.deepEqual(entries.map((e) => [e.kind, e.path, "mode" in e ? e.mode.toString(8) : "", "owner" in e ? e.owner?.uid : undefined]), [
    ["file", "/usr/bin/a", "755", undefined],
    ["file", "/usr/bin/b", "755", undefined],
    ["file", "/usr/bin/c.txt", "755", undefined],
    ["file", "/etc/app/app.conf", "644", 1000],
    ["dir", "/etc/app/sub", "755", 1000],
    ["file", "/etc/app/sub/x", "644", 1000],
    ["file", "/opt/top", "644", undefined],
  ]);
  const script = debugfsScripts(entries).apply;
  assert.match(script, /sif "\/etc\/app\/sub\/x" uid 1000\nsif "\/etc\/app\/sub\/x" gid 100/);
  assert.match(script, /sif "\/opt\/top" uid 0/);
  await assert.rejects(guestEntries([{ source: join(root, "bin/*.so"), dest: "/x/" }], root), /bin\/\*\.so: no file in its source matches/);
  await assert.rejects(guestEntries([{ source: join(root, "missing"), dest: "/x" }], root), /missing: not found where the copy takes it from/);
});

test("with SOURCE_DATE_EPOCH the overlay is the same bytes whenever it is made, every time stamp the epoch", async () => {
  const root = await context();
  const work = await mkdtemp(join(tmpdir(), "cx-populate-test-"));
  await mkdir(join(work, "base"));
  await run("/sbin/mke2fs", ["-q", "-F", "-t", "ext4", "-U", "c0a7a1e2-0000-4000-8000-000000000002", "-E", "hash_seed=c0a7a1e2-0000-4000-8000-000000000002",
    join(work, "base.raw"), "16M"], { env: { E2FSPROGS_FAKE_TIME: "1600000000" } });
  await run("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", join(work, "base.raw"), join(work, "base/disk.qcow2")]);
  const make = async (name: string) => {
    await mkdir(join(work, name));
    await populate({ context: root, base: join(work, "base/disk.qcow2"), backing: "../base/disk.qcow2", out: join(work, name, "disk.qcow2"),
      copies: [{ source: join(root, "conf"), dest: "/etc/app" }], sourceDateEpoch: 1700000000 });
    return readFile(join(work, name, "disk.qcow2"));
  };
  const first = await make("one");
  // A second later: e2fsprogs' own clock would show in the inodes and the superblock.
  await sleep(1100);
  assert.ok(first.equals(await make("two")), "two overlays of the same request are the same bytes");
  await run("qemu-img", ["convert", "-f", "qcow2", "-O", "raw", join(work, "one/disk.qcow2"), join(work, "one.raw")]);
  const stat = await run("debugfs", ["-R", "stat /etc/app/sub/x", join(work, "one.raw")]);
  assert.match(stat, /mtime: 0x6553f100/, "the file's mtime is the epoch (1700000000)");
});
