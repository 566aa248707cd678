/** The docker CLI as the end-to-end tests drive it. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { run, runCapture } from "../../common/run.js";

export const docker = (args: string[], input?: string) => runCapture("docker", args, input === undefined ? {} : { input });

/** docker buildx build of a context with its Cxfile, progress as plain text for the tests to read. */
export const buildx = (context: string, args: string[]) =>
  runCapture("docker", ["buildx", "build", "--progress=plain", "-f", join(context, "Cxfile"), ...args, context]);

/** Step names BuildKit reported as CACHED in plain progress, and the ones it ran. */
export function buildSteps(progress: string): { cached: string[]; ran: string[] } {
  const names = new Map<string, string>();
  const cached = new Set<string>();
  const ran = new Set<string>();
  for (const line of progress.split("\n")) {
    const m = /^#(\d+) (.*)$/.exec(line);
    if (!m) continue;
    const [, id, rest] = m;
    if (!names.has(id)) names.set(id, rest);
    else if (rest === "CACHED") cached.add(names.get(id)!);
    else if (rest.startsWith("DONE")) ran.add(names.get(id)!);
  }
  return { cached: [...cached], ran: [...ran].filter((n) => !cached.has(n)) };
}

/**
 * The page a server on a host port answers with, asked again for up to 20 s
 * while the guest behind it starts; "" if it never answers. curl, not fetch:
 * an unanswered fetch does not keep node's event loop alive, and the test
 * runner cancels it.
 */
export async function pageAt(port: number): Promise<{ page: string; error: string }> {
  let error = "";
  for (let i = 0; i < 100; i++) {
    const got = await runCapture("curl", ["-fsS", "--max-time", "2", `http://127.0.0.1:${port}/`]);
    if (got.exitCode === 0) return { page: got.stdout, error: "" };
    error = got.stderr;
    await sleep(200);
  }
  return { page: "", error };
}

/** The host port that `-p 127.0.0.1::PORT` gave a container's `port`, as docker (or podman) port says it. */
export async function publishedPort(container: string, port: number, cli: typeof docker = docker): Promise<number> {
  return Number((await cli(["port", container, `${port}/tcp`])).stdout.trim().split(":").at(-1));
}

const ARCH_FIXTURE = fileURLToPath(new URL("../../../test/e2e/fixtures/arches/", import.meta.url));

/** The arches fixture (test/e2e/fixtures/arches) built on minimal/<arch> as containerx-e2e/arch-<arch>; returns that name. */
export async function buildArchImage(arch: string): Promise<string> {
  const image = `containerx-e2e/arch-${arch}`;
  const built = await buildx(ARCH_FIXTURE, ["--build-arg", `ARCH=${arch}`, "-t", image]);
  assert.equal(built.exitCode, 0, built.stderr.slice(-3000));
  return image;
}

/** Copies `path` out of `image` to `dest` on the host, through a container that never starts. */
export async function copyFromImage(image: string, path: string, dest: string): Promise<void> {
  const container = (await run("docker", ["create", image, "none"])).trim();
  try {
    await run("docker", ["cp", `${container}:${path}`, dest]);
  } finally {
    await run("docker", ["rm", container]);
  }
}

/** Starts a detached container named `name` and waits until the app printed `ready`. */
export async function startReady(name: string, args: string[]): Promise<void> {
  const started = await docker(["run", "-d", "--name", name, ...args]);
  assert.equal(started.exitCode, 0, started.stderr);
  for (let i = 0; i < 300; i++) {
    if ((await docker(["logs", name])).stdout.includes("ready")) return;
    await sleep(200);
  }
  assert.fail(`${name} never printed ready: ${(await docker(["logs", name])).stderr}`);
}

/**
 * docker push, again when the registry answered 500: dockerd 26 pushes a
 * multi-platform image's manifests to the tag side by side, and Debian's
 * docker-registry 2.8 can read a tag link mid-write ("invalid checksum digest
 * format", seen here about one push in ten). Any other failure fails at once.
 */
export async function pushImage(image: string, cli: (args: string[]) => ReturnType<typeof docker> = docker): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const pushed = await cli(["push", image]);
    if (pushed.exitCode === 0) return;
    if (attempt === 3 || !/500 Internal Server Error/.test(pushed.stderr)) assert.fail(`docker push ${image}: ${pushed.stderr}`);
  }
}
