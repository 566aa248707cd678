/**
 * busybox for an arch Debian has no port of: Debian's busybox source, with
 * the configuration of Debian's busybox-static package, built static by the
 * arch's userland toolchain the way debian/rules builds it. Cached by its inputs.
 */
import { createHash } from "node:crypto";
import { copyFile, mkdir, rm } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import type { GuestArch } from "../common/arches.js";
import { run } from "../common/run.js";
import { fillOnce } from "./build-cache.js";
import { sourcePackage } from "./debian-packages.js";
import { makeFailure } from "./make-failure.js";
import { CACHE, log, trace } from "./publish.js";
import type { Toolchain } from "./userland-toolchain.js";

/** busybox-static's options that need glibc's GNU regex extensions. */
const GLIBC_ONLY = ["EXTRA_COMPAT", "FEATURE_VI_REGEX_SEARCH"];

export interface BuiltBusybox {
  readonly path: string;
  readonly version: string;
}

export async function buildBusybox(archName: string, arch: GuestArch, toolchain: Toolchain): Promise<BuiltBusybox> {
  const { dir: tree, version } = await sourcePackage("busybox");
  const off = toolchain.libc === "musl" ? [GLIBC_ONLY] : [];
  const inputs = createHash("sha256").update(JSON.stringify([version, toolchain, ...off])).digest("hex").slice(0, 16);
  const out = join(CACHE, "busybox", `${archName}-${inputs}`);
  const path = join(out, "busybox");
  await fillOnce(out, async () => {
    const build = `${out}.build`;
    await rm(build, { recursive: true, force: true });
    await mkdir(build, { recursive: true });
    const make = ["make", "-C", build, "-f", join(tree, "Makefile"), `KBUILD_SRC=${tree}`, `CROSS_COMPILE=${arch.crossTriplet}-`,
      `CC=${toolchain.cc.join(" ")}`];
    await run("sh", ["-c", `cat "$1/debian/config/os/linux" "$1/debian/config/pkg/static" > "$2/.config"`, "sh", tree, build]);
    if (toolchain.libc === "musl") {
      await run("sed", ["-i", ...GLIBC_ONLY.flatMap((o) => ["-e", `s/^CONFIG_${o}=y$/# CONFIG_${o} is not set/`]), join(build, ".config")]);
    }
    await run("sh", ["-c", `yes "" | "$@" silentoldconfig >/dev/null`, "sh", ...make]);
    const jobs = availableParallelism();
    log(`building busybox ${version} for ${archName} (static, ${jobs} jobs)`);
    await run(make[0], [...make.slice(1), "-s", `-j${jobs}`, "busybox"], { trace })
      .catch((err: unknown) => { throw makeFailure(err, `building busybox for ${archName}`); });
    await copyFile(join(build, "busybox"), path);
    await run(toolchain.strip, [path]);
    await rm(build, { recursive: true, force: true });
  });
  return { path, version: `${version} ${inputs}` };
}
