/**
 * The C compiler for a minimal base's static userland (the agent, busybox):
 * Debian's cross gcc with its cross glibc, or, for an arch Debian has no
 * glibc for, musl built from Debian's source by the arch's gcc, with the
 * Linux headers of Debian's linux-source, linked through a gcc specs file.
 * musl builds are cached by their inputs.
 */
import { createHash } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import type { GuestArch } from "../common/arches.js";
import { run } from "../common/run.js";
import { fillOnce } from "./build-cache.js";
import { linuxSource } from "./build-kernel.js";
import { ensureHostPackages, nativeDebianArch, sourcePackage } from "./debian-packages.js";
import { CACHE, log, trace } from "./publish.js";

export interface Toolchain {
  readonly libc: "glibc" | "musl";
  /** The compiler command, flags included: static binaries for the guest. */
  readonly cc: readonly string[];
  readonly strip: string;
  /** Identifies compiler and C library, for the inputs hash of what they build. */
  readonly version: string;
}

/** Debian's release with the musl that knows the arch (riscv32 arrived after bookworm's). */
const MUSL_RELEASE = "trixie";

/**
 * musl's own gcc specs (tools/musl-gcc.specs.sh) assume a Linux gcc; a
 * bare-metal gcc has no crtbeginS.o and links newlib by default. These take
 * musl's headers, start files and libc, static, with the gcc's own libgcc.
 */
function muslSpecs(prefix: string): string {
  return `%rename cpp_options old_cpp_options
*cpp_options:
-nostdinc -isystem ${prefix}/include -isystem include%s %(old_cpp_options)

*cc1:
%(cc1_cpu) -nostdinc -isystem ${prefix}/include -isystem include%s

*link_libgcc:
-L${prefix}/lib -L .%s

*libgcc:
libgcc.a%s

*lib:
--start-group -lc -lgcc --end-group

*startfile:
${prefix}/lib/crt1.o ${prefix}/lib/crti.o crtbegin.o%s

*endfile:
crtend.o%s ${prefix}/lib/crtn.o

`;
}

export async function userlandToolchain(archName: string, arch: GuestArch): Promise<Toolchain> {
  const source = arch.minimal.from === "source" ? arch.minimal : undefined;
  const musl = source?.musl;
  // The host's own arch needs no cross compiler: its gcc is <triplet>-gcc too.
  const native = arch.debianArch === (await nativeDebianArch());
  await ensureHostPackages(native ? ["gcc", "libc6-dev"] : [`gcc-${arch.crossTriplet}`, ...(musl ? [] : [`libc6-dev-${arch.debianArch}-cross`])]);
  const gcc = `${arch.crossTriplet}-gcc`;
  const gccVersion = (await run(gcc, ["-dumpfullversion"])).trim();
  const strip = `${arch.crossTriplet}-strip`;
  if (!source || !musl) return { libc: "glibc", cc: [gcc, "-static"], strip, version: `${arch.crossTriplet} gcc ${gccVersion}` };

  const { dir: tree, version } = await sourcePackage("musl", MUSL_RELEASE);
  const linux = await linuxSource();
  const inputs = createHash("sha256")
    .update(JSON.stringify([version, linux.version, gccVersion, arch.crossTriplet, musl])).digest("hex").slice(0, 16);
  const prefix = join(CACHE, "musl", `${archName}-${inputs}`);
  const specs = join(prefix, "musl.specs");
  const toolchain: Toolchain = { libc: "musl", cc: [gcc, ...musl.cflags, "-specs", specs, "-static"], strip, version: `musl ${version} ${inputs}` };
  await fillOnce(prefix, async () => {
    const build = `${prefix}.build`;
    await rm(build, { recursive: true, force: true });
    await mkdir(build, { recursive: true });
    log(`building musl ${version} for ${archName}`);
    await run(join(tree, "configure"), [`--target=${musl.target}`, `--prefix=${prefix}`, "--disable-shared", "--disable-wrapper"],
      { cwd: build, env: { CC: `${gcc} ${musl.cflags.join(" ")}`, CROSS_COMPILE: `${arch.crossTriplet}-` }, trace });
    await run("make", ["-s", `-j${availableParallelism()}`, "install"], { cwd: build, trace });
    // A glibc cross toolchain comes with Debian's Linux headers (linux-libc-dev); musl needs them from the kernel's source.
    await run("make", ["-s", "-C", linux.dir, `O=${join(build, "linux-headers")}`, `ARCH=${source.linuxArch}`, `INSTALL_HDR_PATH=${prefix}`, "headers_install"], { trace });
    await writeFile(specs, muslSpecs(prefix));
    await rm(build, { recursive: true, force: true });
  });
  return toolchain;
}
