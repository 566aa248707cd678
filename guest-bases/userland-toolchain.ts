/**
 * The C compiler for a minimal base's static userland (the agent, busybox):
 * Debian's cross gcc with its cross glibc, or, for an arch Debian has no
 * glibc for, musl built from Debian's source by the arch's gcc, used through
 * musl's own gcc specs. musl builds are cached by their inputs.
 */
import { createHash } from "node:crypto";
import { access, mkdir, rename, rm } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import type { GuestArch } from "../common/arches.js";
import { run } from "../common/run.js";
import { ensureHostPackages, sourcePackage } from "./debian-packages.js";
import { CACHE, log, trace } from "./publish.js";

export interface Toolchain {
  /** The compiler command, flags included: static binaries for the guest. */
  readonly cc: readonly string[];
  readonly strip: string;
  /** Identifies compiler and C library, for the inputs hash of what they build. */
  readonly version: string;
}

/** Debian's release with the musl that knows the arch (riscv32 arrived after bookworm's). */
const MUSL_RELEASE = "trixie";

export async function userlandToolchain(archName: string, arch: GuestArch): Promise<Toolchain> {
  const musl = arch.minimal.from === "source" ? arch.minimal.musl : undefined;
  await ensureHostPackages([`gcc-${arch.crossTriplet}`, ...(musl ? [] : [`libc6-dev-${arch.debianArch}-cross`])]);
  const gcc = `${arch.crossTriplet}-gcc`;
  const gccVersion = (await run(gcc, ["-dumpfullversion"])).trim();
  const strip = `${arch.crossTriplet}-strip`;
  if (!musl) return { cc: [gcc, "-static"], strip, version: `${arch.crossTriplet} gcc ${gccVersion}` };

  const { dir: tree, version } = await sourcePackage("musl", MUSL_RELEASE);
  const inputs = createHash("sha256").update(JSON.stringify([version, gccVersion, arch.crossTriplet, musl.cflags])).digest("hex").slice(0, 16);
  const prefix = join(CACHE, "musl", `${archName}-${inputs}`);
  const specs = join(prefix, "lib/musl-gcc.specs");
  const toolchain = { cc: [gcc, ...musl.cflags, "-specs", specs, "-static"], strip, version: `musl ${version} ${inputs}` };
  if (await access(specs).then(() => true, () => false)) return toolchain;

  const build = `${prefix}.build`;
  await rm(build, { recursive: true, force: true });
  await rm(prefix, { recursive: true, force: true });
  await mkdir(build, { recursive: true });
  log(`building musl ${version} for ${archName}`);
  // The specs file is installed last, so its presence means a complete install.
  await run(join(tree, "configure"), [`--target=${musl.target}`, `--prefix=${prefix}.tmp`, "--disable-shared", "--enable-wrapper=gcc"],
    { cwd: build, env: { CC: `${gcc} ${musl.cflags.join(" ")}`, CROSS_COMPILE: `${arch.crossTriplet}-` }, trace });
  await run("make", ["-s", `-j${availableParallelism()}`, "install"], { cwd: build, trace });
  await run("sed", ["-i", `s|${prefix}.tmp|${prefix}|g`, join(`${prefix}.tmp`, "lib/musl-gcc.specs")]);
  await rename(`${prefix}.tmp`, prefix);
  await rm(build, { recursive: true, force: true });
  return toolchain;
}
