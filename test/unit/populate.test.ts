import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { debugfsScripts } from "../../runtime/populate/debugfs-script.js";
import { expandGlob } from "../../runtime/populate/glob.js";
import { guestEntries } from "../../runtime/populate/populate.js";

async function context(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "cx-ctx-"));
  await mkdir(join(root, "bin"));
  await mkdir(join(root, "conf/sub"), { recursive: true });
  for (const f of ["bin/a", "bin/b", "bin/c.txt", "conf/app.conf", "conf/sub/x", "top"]) await writeFile(join(root, f), f);
  return root;
}

test("globs match one path segment each, sorted", async () => {
  const root = await context();
  assert.deepEqual(await expandGlob(root, "bin/*"), ["bin/a", "bin/b", "bin/c.txt"]);
  assert.deepEqual(await expandGlob(root, "bin/[ab]"), ["bin/a", "bin/b"]);
  assert.deepEqual(await expandGlob(root, "*/app.?onf"), ["conf/app.conf"]);
  assert.deepEqual(await expandGlob(root, "bin/*.so"), []);
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
  await assert.rejects(guestEntries([{ source: join(root, "bin/*.so"), dest: "/x/" }], root), /bin\/\*\.so: no file in the build context matches/);
  await assert.rejects(guestEntries([{ source: join(root, "missing"), dest: "/x" }], root), /not found in the build context/);
});
