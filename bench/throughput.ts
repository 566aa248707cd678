/**
 * bench/throughput: what a server app in a Containerx guest serves, and how
 * fast the guest computes, against the same Debian packages in an ordinary
 * container under Docker's own qemu-user emulation (`docker run --platform`)
 * and natively, in one run.
 *
 * Per arch, three images from bench/throughput-app: the guest app (its
 * Cxfile, over the arch's Debian base) and the reference containers (its
 * Dockerfile, over a Debian image of the same release, for the arch and for
 * the host). Each has redis-server, busybox httpd and the CPU-bound program.
 * Rounds are interleaved across the three places; medians are printed.
 *   redis-benchmark SET and GET with 1 and 4 clients: requests/s, p50, p99
 *   wrk against httpd, a 6-byte file and a 1 MB one: requests/s, MB/s, p50, p99
 *   the CPU-bound program, timing itself: wall, user and system ms
 * Ratios are guest / qemu-user (higher is better, but for time).
 *
 * Usage: bench/throughput   env: ARCHES (default "aarch64 riscv64"),
 * ROUNDS (3), GUEST_ARGS (more `docker run` arguments for the guest, such as
 * "-e CX_KERNEL_ARGS=kpti=1" to see what a setting costs; a JSON array where
 * an argument holds spaces).
 */
import { mkdtemp, cp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ARCHES, isArchName, type ArchName, type GuestArch } from "../common/arches.js";
import { run, runCapture } from "../common/run.js";
import { ensureHostPackages, nativeDebianArch } from "../guest-bases/debian-packages.js";

const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const APP = join(REPO, "bench", "throughput-app");
const HTTP_SECONDS = 5;

interface Place { readonly name: string; readonly image: string; readonly runArgs: readonly string[] }
/** One measurement's figures, by name ("req/s", "p50 ms", "MB/s", "wall ms", …). */
type Figures = Record<string, number>;

const log = (text: string) => process.stderr.write(`bench/throughput: ${text}\n`);
const docker = (args: readonly string[]) => run("docker", args);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The arch's reference and guest images, built from this tree (cached by BuildKit on later runs). */
async function buildImages(name: ArchName): Promise<Place[]> {
  const arch: GuestArch = ARCHES[name];
  const suite = arch.debianSuite ?? "bookworm";
  const host = await nativeDebianArch();
  await ensureHostPackages([`gcc-${arch.crossTriplet}`, `libc6-dev-${arch.debianArch}-cross`]);
  log(`${name}: the guest's Debian base (bootstrap/images.sh; minutes the first time)`);
  await run("bash", [join(REPO, "bootstrap", "images.sh"), `debian/${name}`]);
  const base = `cx-bench/debian:${suite}`;
  log(`${name}: a Debian ${suite} image for linux/${host} and linux/${arch.ociArch} (bootstrap/debian-image.sh; minutes the first time)`);
  await run("bash", [join(REPO, "bootstrap", "debian-image.sh"), base, suite, `linux/${host},linux/${arch.ociArch}`]);

  const context = await mkdtemp(join(tmpdir(), "cx-bench-throughput-"));
  try {
    await cp(APP, context, { recursive: true });
    const cpu = join(APP, "cpu.c");
    await run("gcc", ["-O2", "-static", "-o", join(context, `cpu-${host}`), cpu]);
    await run(`${arch.crossTriplet}-gcc`, ["-O2", "-static", "-o", join(context, `cpu-${arch.ociArch}`), cpu]);
    if (name !== arch.ociArch) await cp(join(context, `cpu-${arch.ociArch}`), join(context, `cpu-${name}`));
    const ref = (platform: string, tag: string) => run("docker", ["buildx", "build", "-q", "--platform", platform, "--build-arg", `BASE=${base}`,
      "-t", tag, "--load", context]);
    log(`${name}: the reference containers and the guest app (docker buildx build)`);
    await ref(`linux/${arch.ociArch}`, `cx-bench/throughput-ref:${name}`);
    await ref(`linux/${host}`, `cx-bench/throughput-ref:${name}-native`);
    await run("docker", ["buildx", "build", "-q", "-f", join(context, "Cxfile"), "--build-arg", `ARCH=${name}`, "-t", `cx-bench/throughput:${name}`, "--load", context]);
  } finally {
    await rm(context, { recursive: true, force: true });
  }
  const given = process.env.GUEST_ARGS ?? "";
  const guestArgs: string[] = given.startsWith("[") ? JSON.parse(given) : given.split(/\s+/).filter(Boolean);
  return [
    { name: "guest", image: `cx-bench/throughput:${name}`, runArgs: guestArgs },
    { name: "qemu-user", image: `cx-bench/throughput-ref:${name}`, runArgs: ["--platform", `linux/${arch.ociArch}`] },
    { name: "native", image: `cx-bench/throughput-ref:${name}-native`, runArgs: ["--platform", `linux/${host}`] },
  ];
}

/** Starts the place's server on an ephemeral host port; resolves to the port and a stop function once `ready` answers. */
async function serve(place: Place, what: "redis" | "http", port: number, ready: (hostPort: string) => Promise<boolean>) {
  const id = (await docker(["run", "-d", "--rm", "-p", `127.0.0.1::${port}`, ...place.runArgs, place.image, what])).trim();
  const stop = () => runCapture("docker", ["rm", "-f", id]).then(() => undefined);
  try {
    const hostPort = (await docker(["port", id, `${port}/tcp`])).trim().split("\n")[0].split(":").pop()!;
    for (let i = 0; i < 300; i++) {
      if (await ready(hostPort)) return { hostPort, stop };
      await sleep(200);
    }
    throw new Error(`${place.name}: ${what} did not answer within 60 s`);
  } catch (err) {
    await stop();
    throw err;
  }
}

async function redis(place: Place): Promise<Record<string, Figures>> {
  const ping = async (p: string) => (await runCapture("redis-cli", ["-p", p, "ping"])).stdout.includes("PONG");
  const { hostPort, stop } = await serve(place, "redis", 6379, ping);
  const out: Record<string, Figures> = {};
  try {
    for (const clients of [1, 4]) {
      const csv = await run("redis-benchmark", ["-p", hostPort, "-n", String(clients * 1000), "-c", String(clients), "-t", "set,get", "--csv"]);
      for (const line of csv.trim().split("\n").slice(1)) {
        const [test, rps, , , p50, , p99] = line.split(",").map((f) => f.replace(/"/g, ""));
        out[`redis ${test} c=${clients}`] = { "req/s": Number(rps), "p50 ms": Number(p50), "p99 ms": Number(p99) };
      }
    }
  } finally {
    await stop();
  }
  return out;
}

/** wrk's "456.00us" / "1.23ms" / "1.20s" / "1.05m" in milliseconds. */
function wrkMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text);
  if (!m) throw new Error(`wrk printed a latency of ${JSON.stringify(text)}`);
  return Number(m[1]) * ({ us: 0.001, ms: 1, s: 1000, m: 60000 } as const)[m[2] as "us" | "ms" | "s" | "m"];
}

async function http(place: Place): Promise<Record<string, Figures>> {
  const up = async (p: string) => (await runCapture("curl", ["-fsS", "--max-time", "2", "-o", "/dev/null", `http://127.0.0.1:${p}/small`])).exitCode === 0;
  const { hostPort, stop } = await serve(place, "http", 8080, up);
  const out: Record<string, Figures> = {};
  try {
    for (const [file, label] of [["small", "6 B"], ["1m", "1 MB"]] as const) {
      const text = await run("wrk", ["-t1", "-c4", `-d${HTTP_SECONDS}s`, "--latency", `http://127.0.0.1:${hostPort}/${file}`]);
      const answered = Number(/(\d+) requests in [\d.]+\w*, ([\d.]+)(\w+) read/.exec(text)?.[1]);
      if (!answered) throw new Error(`${place.name}: wrk got no answer from httpd:\n${text}`);
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1]);
      out[`http GET ${label}`] = {
        "req/s": rps,
        ...(file === "1m" ? { "MB/s": rps } : {}),
        // The distribution's own lines: a standard deviation such as "62.50%" also ends in "50%".
        // wrk pads a latency in seconds with a space ("1.06s ").
        "p50 ms": wrkMs(/^\s+50%\s+(\S+)\s*$/m.exec(text)?.[1] ?? ""),
        "p99 ms": wrkMs(/^\s+99%\s+(\S+)\s*$/m.exec(text)?.[1] ?? ""),
      };
    }
  } finally {
    await stop();
  }
  return out;
}

async function cpu(place: Place): Promise<Record<string, Figures>> {
  const text = await docker(["run", "--rm", ...place.runArgs, place.image, "cpu"]);
  const m = /cpu (\d+) user (\d+) sys (\d+) primes 1942384 hash 1425e55d/.exec(text);
  if (!m) throw new Error(`${place.name}: the CPU-bound program printed ${JSON.stringify(text)}, not its figures and the expected result`);
  return { "cpu-bound program": { "wall ms": Number(m[1]), "user ms": Number(m[2]), "sys ms": Number(m[3]) } };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const fmt = (x: number) => (Number.isNaN(x) ? "-" : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

function report(name: ArchName, places: Place[], rounds: Record<string, Record<string, Figures>>[]) {
  const rows = Object.keys(rounds[0][places[0].name]);
  console.log(`\n${name}: medians of ${rounds.length} rounds; ratio = guest / qemu-user`);
  console.log(`${"".padEnd(30)}${places.map((p) => p.name.padStart(12)).join("")}${"ratio".padStart(9)}`);
  for (const row of rows) {
    for (const figure of Object.keys(rounds[0][places[0].name][row])) {
      const values = places.map((p) => median(rounds.map((r) => r[p.name][row][figure])));
      console.log(`${`${row} ${figure}`.padEnd(30)}${values.map((v) => fmt(v).padStart(12)).join("")}${(values[0] / values[1]).toFixed(3).padStart(9)}`);
    }
  }
}

async function main(): Promise<void> {
  const names = (process.env.ARCHES ?? "aarch64 riscv64").split(/\s+/).filter(Boolean);
  const bad = names.filter((n) => !isArchName(n));
  if (bad.length) throw new Error(`unknown arch ${bad.join(", ")}`);
  const roundCount = Number(process.env.ROUNDS ?? 3);
  await ensureHostPackages(["redis-tools", "wrk", "curl"]);
  for (const name of names as ArchName[]) {
    const places = await buildImages(name);
    const rounds: Record<string, Record<string, Figures>>[] = [];
    for (let r = 1; r <= roundCount; r++) {
      const round: Record<string, Record<string, Figures>> = {};
      for (const place of places) {
        log(`${name}: round ${r}/${roundCount}, ${place.name}`);
        round[place.name] = { ...(await redis(place)), ...(await http(place)), ...(await cpu(place)) };
      }
      rounds.push(round);
    }
    report(name, places, rounds);
  }
}

main().catch((err) => {
  process.stderr.write(`bench/throughput: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
