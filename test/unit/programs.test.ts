import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { access, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { LAYOUT } from "../../common/layout.js";
import { bundleFile, RUNTIME_BIN, RUNTIME_LIB, RUNTIME_PROGRAMS } from "../../runtime/programs.js";

const dist = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const run = promisify(execFile);

/** Runs a command expected to fail; returns its exit code and stderr. */
async function failing(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string }> {
  try {
    await run(file, args, { env });
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
  assert.fail(`${file} ${args.join(" ")} succeeded`);
}

test("every runtime path LAYOUT names under /cx/runtime/bin is a program with a compiled entry", async () => {
  const named = Object.values(LAYOUT).filter((p) => p.startsWith(`${RUNTIME_BIN}/`)).map((p) => p.slice(RUNTIME_BIN.length + 1));
  assert.ok(named.length >= 6);
  for (const name of named) {
    const program = RUNTIME_PROGRAMS[name];
    assert.ok(program, `${name} is in RUNTIME_PROGRAMS`);
    await access(join(dist, program.entry));
  }
});

test("bundled programs run without node_modules, and the launcher from its startup snapshot with the container's arguments", async () => {
  const out = await mkdtemp(join(tmpdir(), "cx-bundle-"));
  try {
    await run(process.execPath, [join(dist, "runtime/bundle.js"), out]);
    for (const [name, program] of Object.entries(RUNTIME_PROGRAMS)) {
      assert.ok(((await stat(join(out, "bin", name))).mode & 0o111) !== 0, `${name} is executable`);
      await access(join(out, "lib", bundleFile(name, program)));
    }
    const env = { PATH: process.env.PATH };
    // cx-exec's bundle runs outside any module graph: its usage, exit 2.
    const exec = await failing(process.execPath, [join(out, "lib", "cx-exec.cjs")], env);
    assert.equal(exec.code, 2);
    assert.match(exec.stderr, /^usage: guest COMMAND/);

    const launch = RUNTIME_PROGRAMS["cx-launch"]!;
    assert.ok(launch.snapshot);
    const blob = join(out, "lib", "cx-launch.blob");
    await run(process.execPath, ["--snapshot-blob", blob, "--build-snapshot", join(out, "lib", bundleFile("cx-launch", launch))], { cwd: out });
    // The executable itself, pointed at this machine's node and the lib directory just written.
    const script = (await readFile(join(out, "bin", "cx-launch"), "utf8"))
      .replaceAll("/usr/bin/node", process.execPath)
      .replaceAll(RUNTIME_LIB, join(out, "lib"));
    const local = join(out, "cx-launch-here");
    await writeFile(local, script, { mode: 0o755 });
    // From the snapshot, and (V8 flags in NODE_OPTIONS, which the snapshot refuses) from the plain bundle.
    for (const nodeOptions of [undefined, "--max-old-space-size=200"]) {
      const bad = await failing(local, ["--version"], { ...env, CX_LOG: "loud", ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}) });
      assert.equal(bad.code, 125, `NODE_OPTIONS=${nodeOptions ?? ""}: the launcher's main ran (a runtime failure), not node's --version`);
      assert.equal(bad.stderr, "containerx: CX_LOG=loud: expected quiet, info or debug\n");
    }
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
