/**
 * The agent's protocol code (guest-agent/protocol.c) compiled for the host,
 * with AddressSanitizer and UBSan, and fed the golden frame sequences of
 * test/agent/cases/<case>/{frames,result} over a socketpair: whole, and one
 * byte at a time. Malformed and truncated frames must be refused with a
 * message, never crash PID 1.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runCapture } from "../../common/run.js";
import { encodeFrame, encodeSpec, FRAME_TYPES } from "../../runtime/agent/protocol.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const CASES = join(ROOT, "test/agent/cases");

async function buildReplay(dir: string): Promise<string> {
  const binary = join(dir, "replay");
  const built = await runCapture("cc", ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
    "-o", binary, join(ROOT, "test/agent/replay.c"), join(ROOT, "guest-agent/protocol.c")]);
  assert.equal(built.exitCode, 0, `the host's cc builds the agent's protocol code: ${built.stderr}`);
  return binary;
}

async function replay(binary: string, frames: string, mode: "whole" | "bytewise"): Promise<string> {
  const ran = await runCapture(binary, [frames, mode]);
  assert.equal(ran.exitCode, 0, `replay ${frames} ${mode}: ${ran.stderr}`);
  assert.equal(ran.stderr, "", "no sanitizer report");
  return ran.stdout;
}

test("golden frame sequences replayed through the agent's reader and spec parser, whole and split at every byte", async () => {
  const dir = await mkdtemp(join(tmpdir(), "cx-agent-replay-"));
  try {
    const binary = await buildReplay(dir);
    const cases = (await readdir(CASES)).sort();
    assert.ok(cases.length >= 10, `the cases are found (${cases.length})`);
    for (const name of cases) {
      const expected = await readFile(join(CASES, name, "result"), "utf8");
      for (const mode of ["whole", "bytewise"] as const) {
        assert.equal(await replay(binary, join(CASES, name, "frames"), mode), expected, `case ${name}, ${mode}`);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("what the launcher's encoder writes, the agent parses to the same values", async () => {
  const dir = await mkdtemp(join(tmpdir(), "cx-agent-replay-"));
  try {
    const binary = await buildReplay(dir);
    const seed = "0123456789abcdef".repeat(4);
    const spec = encodeSpec({
      argv: ["/bin/sh", "-c", "echo ünïcode; exit 3"], env: ["A=1", "B=two words"], cwd: "/work", user: "1000:1000",
      tty: { rows: 30, cols: 100 }, hostname: "c0ffee", clockNs: 1_700_000_000_987_654_321n, seed,
      mounts: [{ fstype: "9p", tag: "cxvol0", guestPath: "/data" }, { fstype: "virtiofs", tag: "cxvirtiofs1", guestPath: "/srv/a:b" }],
    }, 4);
    const frames = [spec, encodeFrame(FRAME_TYPES.stdin, 4, "input"), encodeFrame(FRAME_TYPES.signal, 4, "TERM")];
    const file = join(dir, "frames");
    await writeFile(file, frames.map((f) => `raw ${f.toString("hex").replace(/../g, "$& ")}\n`).join(""));
    const out = await replay(binary, file, "whole");
    const parsed = out.split("\n").filter((l) => l.startsWith("  ")).map((l) => l.trim());
    assert.deepEqual(parsed, [
      'argv "/bin/sh"', 'argv "-c"', 'argv "echo \\xc3\\xbcn\\xc3\\xafcode; exit 3"', 'env "A=1"', 'env "B=two words"',
      "cwd /work", "user 1000:1000", "hostname c0ffee", "tty 30 100",
      "mount 9p cxvol0 /data", "mount virtiofs cxvirtiofs1 /srv/a:b", "clock 1700000000987654321", `seed ${seed}`,
    ]);
    assert.match(out, /^frame I 4 "input"$/m);
    assert.match(out, /^frame K 4 "TERM"$/m);
    assert.match(out, /^closed, 0 bytes of an unfinished frame$/m);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
