/**
 * Bring-your-own OS without the agent, run with plain docker: a GPT disk
 * holding only the UEFI Shell (no Linux anywhere), made from Debian's
 * efi-shell package by the example's make-disk.sh and built with
 * `boot: uefi`; U-Boot from Debian's u-boot-qemu as `boot: firmware`, on each
 * arch's machine that Debian builds it for; and a kernel with an initramfs of
 * the user's own as `boot: kernel`.
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
import { LAYOUT } from "../../common/layout.js";
import { buildx, copyFromImage, docker } from "./docker.js";
import { uBootArches } from "./u-boot.js";

const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const EXAMPLE = join(REPO, "examples/uefi-shell");
const IMAGE = "containerx-e2e/uefi";
const GREETING = "hello from the UEFI shell, booted by Containerx";

let work: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), "cx-e2e-uefi-"));
});
after(async () => {
  await docker(["rm", "-f", "cx-e2e-uefi-stop", ...uBootArches().map(([arch]) => `cx-e2e-uboot-${arch}`)]);
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

    const ran = await docker(["run", "--rm", "-e", "CX_LOG=info", `${IMAGE}-${arch}`]);
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
  assert.equal((await docker(["run", "-d", "--name", name, "-e", "CX_POWERDOWN_SECONDS=2", "-e", "CX_LOG=info", `${IMAGE}-console`])).exitCode, 0);
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

  // A port below the floor of the container's user (ctr and some Kubernetes runtimes leave 1024) is left out with a note; QEMU runs.
  const low = "cx-e2e-uefi-low-port";
  await docker(["rm", "-f", low]);
  const lowStarted = await docker(["run", "-d", "--name", low, "-u", "65534:65534", "--sysctl", "net.ipv4.ip_unprivileged_port_start=1024",
    "-e", "CX_PORTS=80/tcp", `${IMAGE}-console`]);
  assert.equal(lowStarted.exitCode, 0, lowStarted.stderr);
  for (let i = 0; i < 600 && !(await docker(["logs", low])).stdout.includes("waiting-at-the-prompt"); i++) await sleep(200);
  const lowLogs = await docker(["logs", low]);
  await docker(["rm", "-f", low]);
  assert.match(lowLogs.stdout, /waiting-at-the-prompt/, lowLogs.stderr);
  assert.match(lowLogs.stderr, /not forwarding 80\/tcp: this container's user may not listen below port 1024/);

  const withArgs = await docker(["run", "--rm", `${IMAGE}-console`, "ls"]);
  assert.equal(withArgs.exitCode, 125);
  assert.match(withArgs.stderr, /boots its OS \(uefi\) without the Containerx agent, so it runs no command; got: ls/);
});

let uBootPackage: Promise<string> | undefined;
/** u-boot-qemu unpacked once, for all arches. */
function unpackUBoot(): Promise<string> {
  uBootPackage ??= (async () => {
    const dir = join(work, "u-boot-qemu");
    await run("mkdir", ["-p", dir]);
    await run("sh", ["-c", `cd ${dir} && apt-get download -qq u-boot-qemu 2>/dev/null && dpkg-deb -x u-boot-qemu_*.deb pkg`]);
    return join(dir, "pkg/usr/lib/u-boot");
  })();
  return uBootPackage;
}

for (const [arch, firmware] of uBootArches()) {
  test(`boot: firmware runs U-Boot (Debian's u-boot-qemu) as the ${arch} machine's firmware, its console on stdout`, async () => {
    const ctx = join(work, `u-boot-${arch}`);
    await run("mkdir", ["-p", ctx]);
    await run("cp", [join(await unpackUBoot(), firmware), join(ctx, "u-boot.bin")]);
    await writeFile(join(ctx, "blank.img"), Buffer.alloc(8 << 20));
    await writeFile(join(ctx, "Cxfile"), `# syntax=containerx/frontend\nbase: { disk: blank.img, format: raw, arch: ${arch}, boot: firmware, firmware: u-boot.bin }\n`);
    // --no-cache: the import step must run (and say what it imported) whatever earlier runs cached.
    const built = await buildx(ctx, ["--no-cache", "-t", `${IMAGE}-uboot-${arch}`]);
    assert.equal(built.exitCode, 0, built.stderr.slice(-4000));
    assert.match(built.stderr, new RegExp(`imported: ${arch} disk that boots with firmware, without the Containerx agent`));

    const name = `cx-e2e-uboot-${arch}`;
    await docker(["rm", "-f", name]);
    assert.equal((await docker(["run", "-d", "--name", name, "-e", "CX_POWERDOWN_SECONDS=1", `${IMAGE}-uboot-${arch}`])).exitCode, 0);
    let logs = "";
    for (let i = 0; i < 300 && !/U-Boot 20\d\d/.test(logs); i++) {
      await sleep(200);
      logs = (await docker(["logs", name])).stdout;
    }
    assert.match(logs, /U-Boot 20\d\d/, "U-Boot's banner on the container's stdout");
    assert.equal((await docker(["stop", name])).exitCode, 0);
    assert.equal(JSON.parse((await docker(["inspect", name])).stdout)[0].State.ExitCode, 143);
  });
}

const OWN_INIT = `#include <stdio.h>
#include <sys/reboot.h>
#include <sys/utsname.h>
#include <unistd.h>
int main(void) {
  struct utsname u;
  uname(&u);
  printf("hello from my own init on %s, kernel %s\\n", u.machine, u.release);
  fflush(stdout);
  sync();
  reboot(RB_POWER_OFF);
  return 0;
}
`;

test("boot: kernel boots the user's kernel and initrd with the arch's console and guest.kernel_args, no agent", async () => {
  const ctx = join(work, "own-kernel");
  await run("mkdir", ["-p", join(ctx, "initramfs")]);
  await copyFromImage("containerx/minimal:aarch64", LAYOUT.baseKernel, join(ctx, "vmlinuz"));
  await writeFile(join(ctx, "init.c"), OWN_INIT);
  await run("aarch64-linux-gnu-gcc", ["-static", "-Os", "-o", join(ctx, "initramfs/init"), join(ctx, "init.c")]);
  await run("sh", ["-c", `cd ${join(ctx, "initramfs")} && echo init | cpio --quiet -o -H newc > ../initrd.img`]);
  await writeFile(join(ctx, "blank.img"), Buffer.alloc(8 << 20));
  await writeFile(join(ctx, "Cxfile"), [
    "# syntax=containerx/frontend",
    "base: { disk: blank.img, format: raw, arch: aarch64, boot: kernel, kernel: vmlinuz, initrd: initrd.img }",
    "guest: { kernel_args: quiet }",
    "",
  ].join("\n"));
  const built = await buildx(ctx, ["-t", `${IMAGE}-kernel`]);
  assert.equal(built.exitCode, 0, built.stderr.slice(-4000));
  const ran = await docker(["run", "--rm", `${IMAGE}-kernel`]);
  assert.equal(ran.exitCode, 0, ran.stderr);
  assert.match(ran.stdout, /hello from my own init on aarch64, kernel \S+/);
  assert.doesNotMatch(ran.stdout, /Booting Linux/, "guest.kernel_args (quiet) reached the kernel");
});
