/**
 * The runtime behaves like a container under docker run, stop, logs, exec:
 * arguments, environment, user, stdin/stdout/stderr, terminals, exit codes,
 * stop signals, volumes, ports, resource limits, exec and health, against
 * the real dockerd and an aarch64 guest. Fixture: test/e2e/fixtures/runtime.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { runCapture } from "../../common/run.js";
import { docker, startReady } from "./docker.js";

const FIXTURE = fileURLToPath(new URL("../../../test/e2e/fixtures/runtime/", import.meta.url));
const IMAGE = "containerx-e2e/runtime";
const PREFIX = `cx-e2e-rt-${process.pid}`;
const containers: string[] = [];

/** Starts a detached container of this test run, removed at the end, once its app printed `ready`. */
async function start(name: string, args: string[]): Promise<string> {
  const full = `${PREFIX}-${name}`;
  containers.push(full);
  await startReady(full, args);
  return full;
}

before(async () => {
  const built = await runCapture("bash", [join(FIXTURE, "build-image.sh"), IMAGE]);
  assert.equal(built.exitCode, 0, built.stderr.slice(-3000));
});

after(async () => {
  if (containers.length) await docker(["rm", "-f", "-v", ...containers]);
});

test("docker run args replace cmd; -e, -w and -u reach the guest app; CX_ENTRYPOINT replaces the app's entrypoint", async () => {
  const plain = await docker(["run", "--rm", IMAGE]);
  assert.equal(plain.stdout, "args: default\nenv: GREETING=hello EXTRA=unset\ncwd: /opt, uid 0, gid 0\n", plain.stderr);
  const given = await docker(["run", "--rm", "-e", "EXTRA=x y", "-w", "/tmp", "-u", "1000:100", IMAGE, "args", "a", "b c"]);
  assert.equal(given.stdout, "args: a b c\nenv: GREETING=hello EXTRA=x y\ncwd: /tmp, uid 1000, gid 100\n", given.stderr);
  const entry = await docker(["run", "--rm", "-e", 'CX_ENTRYPOINT=["/bin/echo","from"]', IMAGE, "a new entrypoint"]);
  assert.equal(entry.stdout, "from a new entrypoint\n", entry.stderr);
});

test("stdout and stderr stay apart, -i feeds stdin, and docker logs holds the app's output without kernel noise", async () => {
  const ran = await docker(["run", "--rm", "-i", IMAGE, "io"], "through stdin\n");
  assert.equal(ran.exitCode, 0, ran.stderr);
  assert.equal(ran.stdout, "to stdout\nTHROUGH STDIN\n");
  assert.match(ran.stderr, /^to stderr$/m);

  const name = `${PREFIX}-logs`;
  containers.push(name);
  assert.equal((await docker(["run", "--name", name, IMAGE, "io"])).exitCode, 0);
  const logs = await docker(["logs", name]);
  assert.equal(logs.stdout, "to stdout\n");
  assert.match(logs.stderr, /^to stderr$/m);
  assert.doesNotMatch(logs.stdout + logs.stderr, /Linux version|Booting|\[\s*\d+\.\d+\]/, "no kernel console in the logs");
});

test("-t gives the app a terminal; Ctrl-C on it interrupts the app", async () => {
  const plain = await docker(["run", "--rm", IMAGE, "tty"]);
  assert.equal(plain.stdout, "terminal: no\n");
  // With -t Docker merges stderr into the terminal, where the launcher, quiet by default, has said nothing.
  const tty = await docker(["run", "--rm", "-t", IMAGE, "tty"]);
  assert.match(tty.stdout, /^terminal: yes, size \d+ \d+\r\n$/, "one terminal: the guest's, with the container's passing bytes through raw");

  // A real terminal on the client side: python's pty drives docker run -it and types ^C.
  const driver = `
import os, pty, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execvp("docker", ["docker", "run", "--rm", "-it", "${IMAGE}", "interrupt"])
out = b""
deadline = time.time() + 120
sent = False
while time.time() < deadline:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
    # After the whole line, as a person would: ^C makes the guest's terminal
    # drop output not yet read from it, which may still hold the line's end.
    if not sent and b"ready\\r\\n" in out:
        os.write(fd, b"\\x03")
        sent = True
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
sys.stdout.write("exit=%d\\n" % os.waitstatus_to_exitcode(status))
`;
  const driven = await runCapture("python3", ["-c", driver]);
  assert.match(driven.stdout, /ready\r\n/);
  assert.match(driven.stdout, /got INT\r\n/);
  assert.match(driven.stdout, /exit=130\n$/);
});

test("the exit code is the app's; a guest kernel panic gives 125 and a one-line reason", async () => {
  assert.equal((await docker(["run", "--rm", IMAGE, "nonsense"])).exitCode, 2);
  const panic = await docker(["run", "--rm", IMAGE, "panic"]);
  assert.equal(panic.exitCode, 125);
  assert.match(panic.stderr, /containerx: the guest kernel panicked: .*sysrq/i);
});

test("docker stop delivers SIGTERM to the app, which cleans up before the guest powers off", async () => {
  const volume = `${PREFIX}-state`;
  const name = await start("stop", ["-v", `${volume}:/state`, IMAGE, "term"]);
  const started = Date.now();
  assert.equal((await docker(["stop", "-t", "20", name])).exitCode, 0);
  const seconds = (Date.now() - started) / 1000;
  assert.ok(seconds < 15, `docker stop took ${seconds}s: the app was killed at the timeout, not stopped`);
  assert.equal((await docker(["inspect", "-f", "{{.State.ExitCode}}", name])).stdout.trim(), "0");
  assert.match((await docker(["logs", name])).stdout, /got TERM, cleaning up/);
  const check = await docker(["run", "--rm", "-v", `${volume}:/state`, "--entrypoint", "cat", IMAGE, "/state/stopped"]);
  assert.equal(check.stdout, "clean\n", "what the app wrote while stopping reached the volume");
  await docker(["volume", "rm", volume]);
});

test("the accelerator choice and its reason are on stderr; CX_* settings are validated before anything boots", async () => {
  const auto = await docker(["run", "--rm", "-e", "CX_LOG=info", IMAGE, "resources"]);
  assert.match(auto.stderr, /^containerx: aarch64 guest, TCG: guest aarch64 differs from host \S+$/m);
  const forced = await docker(["run", "--rm", "-e", "CX_LOG=info", "-e", "CX_ACCEL=tcg", "-e", "CX_CPUS=2", IMAGE, "resources"]);
  assert.match(forced.stderr, /containerx: aarch64 guest, TCG \(CX_ACCEL=tcg\)/);
  assert.match(forced.stdout, /cpus: 2\n/);
  const bad = await docker(["run", "--rm", "-e", "CX_MEMORY=lots", IMAGE]);
  assert.equal(bad.exitCode, 125);
  assert.equal(bad.stderr, "containerx: CX_MEMORY=lots: expected a size such as 512M or 2G\n");
  const badLog = await docker(["run", "--rm", "-e", "CX_LOG=loud", IMAGE]);
  assert.deepEqual([badLog.exitCode, badLog.stderr], [125, "containerx: CX_LOG=loud: expected quiet, info or debug\n"]);
});

test("docker kill (SIGKILL) leaves the image intact: the next container runs as before", async () => {
  const name = await start("kill", [IMAGE, "sleep"]);
  assert.equal((await docker(["kill", name])).exitCode, 0);
  const again = await docker(["run", "--rm", IMAGE]);
  assert.equal(again.exitCode, 0, again.stderr);
  assert.match(again.stdout, /^args: default\n/);
});

test("a host directory mounted with -v is the same directory in the guest, both ways: 9p in a resumed guest, virtiofs when booted or asked", async () => {
  const cases = [["9p", []], ["virtiofs", ["-e", "CX_VOLUME_FS=virtiofs"]], ["virtiofs", ["-e", "CX_SNAPSHOT=off"]], ["9p", ["-e", "CX_SNAPSHOT=off", "-e", "CX_VOLUME_FS=9p"]]] as const;
  for (const [fs, env] of cases) {
    const dir = await mkdtemp(join(tmpdir(), "cx-e2e-vol-"));
    await writeFile(join(dir, "from-host.txt"), "written on the host\n");
    const ran = await docker(["run", "--rm", "-e", "CX_LOG=info", ...env, "-v", `${dir}:/data`, IMAGE, "volume"]);
    assert.equal(ran.exitCode, 0, ran.stderr);
    assert.equal(ran.stdout, `written on the host\nfs: ${fs}\n`);
    assert.match(ran.stderr, new RegExp(`volumes shared by ${fs} \\(.*\\): .*/data`));
    assert.equal(await readFile(join(dir, "from-guest.txt"), "utf8"), "written in the guest\n");
    assert.equal(await readFile(join(dir, "sub/file"), "utf8"), "nested\n");
  }
});

/**
 * What the guest's network promises, under one backend: -p for TCP and UDP
 * in a guest resumed from its snapshot, --network host, and the guest
 * reaching what the container reaches, by name. `args` pick the backend
 * (network.ts); CX_LOG=info says which ran.
 */
async function networkPromises(backend: "slirp" | "passt", args: string[]) {
  const name = await start(`serve-${backend}`, ["-e", "CX_LOG=info", ...args, "-p", "127.0.0.1:18080:80", "-p", "127.0.0.1:15353:5353/udp", IMAGE, "serve"]);
  const said = (await docker(["logs", name])).stderr;
  assert.match(said, new RegExp(`network by ${backend}`));
  assert.match(said, /resuming the guest from the image's build-time snapshot/, "a snapshot saved under slirp at build time");
  let page = "";
  for (let i = 0; i < 50 && !page; i++) {
    page = await fetch("http://127.0.0.1:18080/").then((r) => r.text(), () => "");
    if (!page) await sleep(200);
  }
  assert.equal(page, "served from the guest\n");

  const udp = createSocket("udp4");
  const reply = new Promise<string>((resolve) => udp.once("message", (m) => resolve(m.toString())));
  const sender = setInterval(() => udp.send("ping\n", 15353, "127.0.0.1"), 500);
  const answer = await Promise.race([reply, sleep(20000).then(() => "no answer")]);
  clearInterval(sender);
  udp.close();
  assert.equal(answer, "udp: ping\n");
  await docker(["rm", "-f", name]);

  const hostNet = await start(`host-net-${backend}`, ["--network", "host", ...args, "-e", "CX_PORTS=80/tcp", IMAGE, "serve"]);
  let hostPage = "";
  for (let i = 0; i < 50 && !hostPage; i++) {
    hostPage = await fetch("http://127.0.0.1:80/").then((r) => r.text(), () => "");
    if (!hostPage) await sleep(200);
  }
  assert.equal(hostPage, "served from the guest\n");
  await docker(["rm", "-f", hostNet]);

  // The host as the container sees it: its bridge's gateway.
  const server = createServer((_req, res) => res.end(`reached the host from ${backend}\n`));
  await new Promise<void>((resolve) => server.listen(0, "0.0.0.0", resolve));
  try {
    const gateway = (await docker(["network", "inspect", "bridge", "-f", "{{(index .IPAM.Config 0).Gateway}}"])).stdout.trim();
    const url = `http://${gateway}:${(server.address() as AddressInfo).port}/`;
    const reach = await docker(["run", "--rm", ...args, IMAGE, "reach", url, "deb.debian.org"]);
    assert.equal(reach.exitCode, 0, reach.stderr);
    assert.match(reach.stdout, new RegExp(`^reached the host from ${backend}$`, "m"));
    assert.match(reach.stdout, /^Name:\s+deb\.debian\.org\nAddress:\s*\d+\.\d+\.\d+\.\d+/m, "the guest resolves names through the backend's DNS");
  } finally {
    server.close();
  }
}

test("exposed guest ports answer on the container's ports: -p for TCP and UDP, and --network host; the guest reaches the host and resolves names", async () => {
  await networkPromises("slirp", []);
});

test("the same through passt (CX_NET=passt) in a container without a seccomp filter; where passt cannot start, slirp serves and the launcher says why", async () => {
  await networkPromises("passt", ["--security-opt", "seccomp=unconfined", "-e", "CX_NET=passt"]);
  const refused = await docker(["run", "--rm", "-e", "CX_NET=passt", IMAGE, "args", "refused"]);
  assert.equal(refused.exitCode, 0, refused.stderr);
  assert.match(refused.stdout, /^args: refused$/m);
  assert.match(refused.stderr, /^containerx: passt did not start: .*seccomp=unconfined\); network by slirp instead$/m,
    "Docker's default seccomp profile refuses passt's user namespace");
  // Root without CAP_SETGID cannot become nobody, as passt does.
  const noCaps = await docker(["run", "--rm", "--security-opt", "seccomp=unconfined", "--cap-drop", "ALL", "-e", "CX_NET=passt", IMAGE, "args", "no-caps"]);
  assert.equal(noCaps.exitCode, 0, noCaps.stderr);
  assert.match(noCaps.stderr, /^containerx: passt did not start: Can't set GID to 65534: Operation not permitted; network by slirp instead$/m);
});

test("docker run --memory and --cpus size the guest; CX_MEMORY is kept within the limit", async () => {
  const limited = await docker(["run", "--rm", "--memory", "512m", "--cpus", "2", IMAGE, "resources"]);
  assert.equal(limited.exitCode, 0, limited.stderr);
  const mib = Number(/memory: (\d+) MiB/.exec(limited.stdout)?.[1]);
  assert.ok(mib > 250 && mib <= 352, `guest memory ${mib} MiB for a 512m container`);
  assert.match(limited.stdout, /cpus: 2\n/);

  const asked = await docker(["run", "--rm", "--memory", "512m", "-e", "CX_MEMORY=2G", "-e", "CX_CPUS=3", IMAGE, "resources"]);
  assert.match(asked.stderr, /CX_MEMORY=2048M does not fit the container's 512M limit; the guest gets 352M/);
  assert.ok(Number(/memory: (\d+) MiB/.exec(asked.stdout)?.[1]) <= 352);
  assert.match(asked.stdout, /cpus: 3\n/);
});

test("docker exec … guest (cx-exec) runs a command in the running guest; the health check turns healthy", async () => {
  const name = await start("exec", [IMAGE, "sleep"]);
  const ran = await docker(["exec", name, "/cx/runtime/bin/cx-exec", "sh", "-c", "echo out; echo err >&2; cat /proc/1/comm; exit 3"]);
  assert.equal(ran.exitCode, 3);
  assert.equal(ran.stdout, "out\ninit\n", "the command runs in the guest, whose PID 1 is the agent");
  assert.equal(ran.stderr, "err\n");
  const piped = await docker(["exec", "-i", "-e", "WHO=exec", name, "/cx/runtime/bin/cx-exec", "sh", "-c", "tr a-z A-Z; echo $WHO"], "lower\n");
  assert.equal(piped.stdout, "LOWER\nexec\n");
  // The short name users reach for: `guest` runs in the guest, a plain command in the runtime container.
  const machine = await docker(["exec", name, "guest", "uname", "-m"]);
  assert.deepEqual([machine.stdout, machine.exitCode], ["aarch64\n", 0], machine.stderr);
  const inRuntime = await docker(["exec", name, "uname", "-m"]);
  assert.equal(inRuntime.stdout, `${(await docker(["info", "-f", "{{.Architecture}}"])).stdout.trim()}\n`, "docker exec without guest stays in the runtime container");
  const usage = await docker(["exec", name, "guest"]);
  assert.equal(usage.exitCode, 2);
  assert.match(usage.stderr, /^usage: guest COMMAND/);

  let health = "";
  for (let i = 0; i < 60 && health !== "healthy"; i++) {
    health = (await docker(["inspect", "-f", "{{.State.Health.Status}}", name])).stdout.trim();
    if (health !== "healthy") await sleep(500);
  }
  assert.equal(health, "healthy");
});
