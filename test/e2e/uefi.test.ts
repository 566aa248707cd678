/**
 * Bring-your-own OS without the agent: a GPT disk holding only the UEFI
 * Shell (no Linux anywhere), made from Debian's efi-shell package by the
 * example's make-disk.sh, built with `boot: uefi` and run with plain docker.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { run } from "../../common/run.js";
import { buildx, docker } from "./docker.js";

const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const EXAMPLE = join(REPO, "examples/uefi-shell");
const IMAGE = "containerx-e2e/uefi";
const GREETING = "hello from the UEFI shell, booted by Containerx";

let work: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), "cx-e2e-uefi-"));
});
after(async () => {
  await docker(["rm", "-f", "cx-e2e-uefi-stop"]);
  await rm(work, { recursive: true, force: true });
});

/** A build context with the example's Cxfile and a shell disk for `arch` running `startup`. */
async function shellContext(name: string, arch: string, startup: string): Promise<string> {
  const ctx = join(work, name);
  await run("mkdir", ["-p", ctx]);
  await run("cp", [join(EXAMPLE, "Cxfile"), ctx]);
  await writeFile(join(ctx, "startup.nsh"), startup.split("\n").join("\r\n"));
  await run("bash", [join(EXAMPLE, "make-disk.sh"), arch, join(ctx, "shell.img"), join(ctx, "startup.nsh")]);
  return ctx;
}

for (const arch of ["aarch64", "x86_64"]) {
  test(`${arch}: a disk with no Linux boots with UEFI, its serial console is the container's stdout, and powering off ends the container with 0`, async () => {
    const ctx = await shellContext(`greet-${arch}`, arch, `echo "${GREETING}"\nver\nreset -s\n`);
    const built = await buildx(ctx, ["--build-arg", `ARCH=${arch}`, "-t", `${IMAGE}-${arch}`]);
    assert.equal(built.exitCode, 0, built.stderr.slice(-4000));
    assert.match(built.stderr, /imported: \S+ disk that boots with uefi, without the Containerx agent/);

    const ran = await docker(["run", "--rm", `${IMAGE}-${arch}`]);
    assert.equal(ran.exitCode, 0, ran.stderr);
    assert.ok(ran.stdout.includes(GREETING), ran.stdout.slice(-2000));
    assert.match(ran.stdout, /UEFI Interactive Shell v\d/, "the shell's own `ver`");
    assert.match(ran.stderr, /booting with uefi, no Containerx agent: the serial console is stdin\/stdout/);

    const inspect = JSON.parse((await docker(["inspect", `${IMAGE}-${arch}`])).stdout)[0];
    assert.equal(inspect.Config.Healthcheck, undefined, "nothing in the guest can answer a health check");
    assert.equal(inspect.Config.Labels["org.containerx.guest.arch"], arch);
    const history = (await docker(["history", "--no-trunc", "--format", "{{.CreatedBy}}", `${IMAGE}-${arch}`])).stdout;
    assert.match(history, /containerx: OS base disk shell\.img \(boots with uefi, no Containerx agent\)/);
    assert.doesNotMatch(history, /app overlay/);
  });
}

test("stdin is typed at the guest's console; docker stop asks for an ACPI power-off, then quits QEMU; no command, no docker exec", async () => {
  const ctx = await shellContext("console", "aarch64", "echo waiting-at-the-prompt\n");
  const built = await buildx(ctx, ["-t", `${IMAGE}-console`]);
  assert.equal(built.exitCode, 0, built.stderr.slice(-4000));

  // Typed input: the shell runs what it reads on its serial console, then powers off when told.
  const child = spawn("docker", ["run", "--rm", "-i", `${IMAGE}-console`], { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString("utf8");
  });
  const exited = new Promise<number | null>((done) => child.once("close", done));
  for (let i = 0; i < 600 && !out.includes("waiting-at-the-prompt\r\n"); i++) await sleep(200);
  assert.ok(out.includes("waiting-at-the-prompt"), out.slice(-2000));
  await sleep(1000);
  child.stdin.write("echo typed-at-the-console\r");
  for (let i = 0; i < 100 && !/typed-at-the-console\r\n/.test(out); i++) await sleep(200);
  child.stdin.write("reset -s\r");
  assert.equal(await exited, 0);
  assert.match(out, /typed-at-the-console\r\n/);

  const name = "cx-e2e-uefi-stop";
  await docker(["rm", "-f", name]);
  assert.equal((await docker(["run", "-d", "--name", name, "-e", "CX_POWERDOWN_SECONDS=2", `${IMAGE}-console`])).exitCode, 0);
  for (let i = 0; i < 600 && !(await docker(["logs", name])).stdout.includes("waiting-at-the-prompt"); i++) await sleep(200);
  const exec = await docker(["exec", name, "/cx/runtime/bin/cx-exec", "ls"]);
  assert.equal(exec.exitCode, 125);
  assert.match(exec.stderr, /boots with uefi and has no Containerx agent/);
  assert.equal((await docker(["stop", "-t", "20", name])).exitCode, 0);
  const state = JSON.parse((await docker(["inspect", name])).stdout)[0].State;
  assert.equal(state.ExitCode, 143, "the shell ignores the power button, so QEMU was quit");
  const logs = await docker(["logs", name]);
  assert.match(logs.stderr, /SIGTERM: asking the guest to power off \(ACPI\)/);
  assert.match(logs.stderr, /the guest did not power off within 2s; quitting QEMU/);

  const withArgs = await docker(["run", "--rm", `${IMAGE}-console`, "ls"]);
  assert.equal(withArgs.exitCode, 125);
  assert.match(withArgs.stderr, /boots its OS \(uefi\) without the Containerx agent, so it runs no command; got: ls/);
});
