/**
 * QEMU's gdb stub behind plain docker run flags (CX_GDB, CX_GDB_WAIT):
 * Debian's gdb-multiarch, in batch mode, attaches through `docker run -p` on
 * aarch64 (resumed from its snapshot, so stopped at the snapshot's instant)
 * and on big-endian mips (booted, malta has no snapshot, so stopped before
 * its first instruction). It reads the program counter and the stack
 * pointer, stops at the kernel's begin_new_exec (every exec passes it, the
 * app's too: its address from the guest's /proc/kallsyms, read with docker
 * exec in an earlier container of the image, as neither kernel has KASLR
 * there; mips's tinyconfig kernel has no kallsyms, but the image's kernel is
 * its ELF vmlinux, symbols and all), and detaches; the app
 * then ends with its own output and exit code. And the app itself:
 * examples/debug-app under gdbserver in a Debian guest, through an exposed
 * port, with the host's gdb reading the app's own symbols.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ARCHES } from "../../common/arches.js";
import { LAYOUT } from "../../common/layout.js";
import { fileURLToPath } from "node:url";
import { run, runCapture } from "../../common/run.js";
import { buildArchImage, buildx, copyFromImage, docker, publishedPort, startReady } from "./docker.js";

const STUB_PORT = 1234;
const DEBUG_APP = fileURLToPath(new URL("../../../examples/debug-app/", import.meta.url));
/** Exported, so never inlined: each exec that succeeds calls it. */
const SYMBOL = "begin_new_exec";
/**
 * gdb's name for each arch under test (QEMU's mips stub sends no target
 * description for gdb to take it from), and its address width: a 32-bit mips
 * kernel's symbol addresses may come sign-extended to 64 bits.
 */
const GDB_ARCH = {
  aarch64: { setup: ["set architecture aarch64"], bits: 64n, symbols: "kallsyms" },
  mips: { setup: ["set architecture mips:isa32r2", "set endian big"], bits: 32n, symbols: "vmlinux" },
} as const;
const containers: string[] = [];

after(async () => {
  if (containers.length) await docker(["rm", "-f", ...containers]);
});

/** Whether something in container `name` listens on TCP port `port` (docker-proxy accepts on the host side either way). */
async function listening(name: string, port: number): Promise<boolean> {
  const tcp = await docker(["exec", name, "cat", "/proc/net/tcp", "/proc/net/tcp6"]);
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  return tcp.stdout.split("\n").some((line) => {
    const [, local, , state] = line.trim().split(/\s+/);
    return local?.endsWith(`:${hex}`) && state === "0A";
  });
}

/** The guest's /proc/kallsyms, from a container of `image` that waits. */
async function kallsyms(image: string, arch: string): Promise<string> {
  const probe = `cx-e2e-gdb-symbols-${arch}-${process.pid}`;
  containers.push(probe);
  await startReady(probe, [image, "wait"]);
  const read = await docker(["exec", probe, "guest", "cat", "/proc/kallsyms"]);
  await docker(["rm", "-f", probe]);
  return read.stdout;
}

/** nm's listing of the image's kernel, where that is an ELF vmlinux. */
async function vmlinuxSymbols(image: string, arch: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `cx-e2e-gdb-${arch}-`));
  try {
    const kernel = join(dir, "vmlinux");
    await copyFromImage(image, LAYOUT.baseKernel, kernel);
    return (await runCapture("nm", [kernel])).stdout;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

for (const arch of Object.keys(GDB_ARCH) as (keyof typeof GDB_ARCH)[]) {
  test(`${arch}: gdb-multiarch attaches through docker run -p, reads registers, stops at a kernel symbol the app's start hits, detaches, and the app finishes`, async (t) => {
    const image = await buildArchImage(arch);
    const symbols = GDB_ARCH[arch].symbols === "kallsyms" ? await kallsyms(image, arch) : await vmlinuxSymbols(image, arch);
    const mapped = symbols.split("\n").map((l) => l.split(" ")).find(([, , symbol]) => symbol === SYMBOL)?.[0];
    assert.ok(mapped && !/^0+$/.test(mapped), `the kernel's symbols give ${SYMBOL} an address`);
    const address = BigInt(`0x${mapped}`) & ((1n << GDB_ARCH[arch].bits) - 1n);
    const hex = `0x${address.toString(16)}`;

    const name = `cx-e2e-gdb-${arch}-${process.pid}`;
    containers.push(name);
    const started = await docker(["run", "-d", "--name", name, "-p", `127.0.0.1::${STUB_PORT}`,
      "-e", `CX_GDB=${STUB_PORT}`, "-e", "CX_GDB_WAIT=1", image]);
    assert.equal(started.exitCode, 0, started.stderr);
    for (let i = 0; i < 100 && !(await listening(name, STUB_PORT)); i++) await sleep(200);
    const logs = await docker(["logs", name]);
    assert.match(logs.stderr, new RegExp(`^containerx: the guest is stopped until a debugger on container port ${STUB_PORT} continues it: gdb-multiarch`, "m"));
    assert.equal(logs.stdout, "", "the app has not started while the guest waits");
    const hostPort = await publishedPort(name, STUB_PORT);

    const gdb = await runCapture("timeout", ["120", "gdb-multiarch", "-nx", "-batch",
      "-ex", "set pagination off", ...GDB_ARCH[arch].setup.flatMap((c) => ["-ex", c]),
      "-ex", `target remote 127.0.0.1:${hostPort}`,
      "-ex", "info registers pc", "-ex", "info registers sp",
      "-ex", `break *${hex}`, "-ex", "continue", "-ex", "info registers pc",
      "-ex", "delete", "-ex", "detach"]);
    const session = `${gdb.stdout}${gdb.stderr}`;
    t.diagnostic(`gdb-multiarch on ${arch}, ${SYMBOL} at ${hex}:\n${session}`);
    assert.equal(gdb.exitCode, 0, session);
    const pcs = [...gdb.stdout.matchAll(/^pc:?\s+(0x[0-9a-f]+)/gm)].map((m) => BigInt(m[1]!));
    assert.equal(pcs.length, 2, session);
    assert.match(gdb.stdout, /^sp:?\s+0x[0-9a-f]+/m, session);
    assert.match(gdb.stdout, new RegExp(`^Breakpoint 1, ${hex} in `, "m"), session);
    assert.equal(pcs[1], address, `stopped at ${SYMBOL}: ${session}`);
    assert.match(session, /detached/, session);

    const exited = await runCapture("timeout", ["120", "docker", "wait", name]);
    assert.equal(exited.stdout.trim(), "7", (await docker(["logs", name])).stderr);
    assert.equal((await docker(["logs", name])).stdout, `machine: ${ARCHES[arch].unameMachine}\nsleep 1: slept\n`);
  });
}

test("the app itself: examples/debug-app runs it under gdbserver in a Debian guest, and the host's gdb-multiarch steps through it by its own symbols", async (t) => {
  await run("bash", [join(DEBUG_APP, "build-app.sh")]);
  const image = "containerx-e2e/debug-app";
  const built = await buildx(DEBUG_APP, ["-t", image]);
  assert.equal(built.exitCode, 0, built.stderr.slice(-3000));
  const name = `cx-e2e-gdbserver-${process.pid}`;
  containers.push(name);
  const started = await docker(["run", "-d", "--name", name, "-p", "127.0.0.1::2345", image]);
  assert.equal(started.exitCode, 0, started.stderr);
  for (let i = 0; i < 300 && !(await docker(["logs", name])).stderr.includes("Listening on port 2345"); i++) await sleep(200);
  const hostPort = await publishedPort(name, 2345);

  const gdb = await runCapture("timeout", ["180", "gdb-multiarch", "-nx", "-batch", "-ex", "set pagination off",
    "-ex", `target remote 127.0.0.1:${hostPort}`, "-ex", "break square", "-ex", "continue", "-ex", "print n",
    "-ex", "continue", "-ex", "print n", "-ex", "backtrace", "-ex", "delete", "-ex", "continue", join(DEBUG_APP, "counter")]);
  const session = `${gdb.stdout}${gdb.stderr}`;
  t.diagnostic(`gdb-multiarch on examples/debug-app:\n${session}`);
  assert.equal(gdb.exitCode, 0, session);
  assert.match(gdb.stdout, /^Breakpoint 1, square \(n=1\) at counter\.c:\d+$/m, session);
  assert.match(gdb.stdout, /^\$1 = 1$/m, session);
  assert.match(gdb.stdout, /^Breakpoint 1, square \(n=2\) at counter\.c:\d+$/m, session);
  assert.match(gdb.stdout, /^\$2 = 2$/m, session);
  assert.match(gdb.stdout, /^#1 +0x[0-9a-f]+ in main \(\) at counter\.c:\d+$/m, session);
  assert.match(session, /\[Inferior 1 \(process \d+\) exited with code 03\]/, session);

  const exited = await runCapture("timeout", ["120", "docker", "wait", name]);
  const logs = await docker(["logs", name]);
  assert.equal(exited.stdout.trim(), "0", `gdbserver ends with 0 once its inferior has: ${logs.stderr}`);
  assert.equal(logs.stdout, "total: 30\n");
  assert.match(logs.stderr, /Child exited with status 3/);
});
