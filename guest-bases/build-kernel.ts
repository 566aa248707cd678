/**
 * A guest kernel for an arch Debian has no port of: Debian's linux-source,
 * configured as tinyconfig plus what the agent and the runtime's devices need
 * plus the arch's own symbols, built by Debian's cross compiler. Built
 * kernels are cached by their inputs, so a rebuild of the base reuses them.
 */
import { createHash } from "node:crypto";
import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { basename, join } from "node:path";
import type { GuestArch, MinimalSource } from "../common/arches.js";
import { run } from "../common/run.js";
import { fillOnce } from "./build-cache.js";
import { concretePackage, download, ensureHostPackages } from "./debian-packages.js";
import { makeFailure } from "./make-failure.js";
import { CACHE, log, trace } from "./publish.js";

/**
 * Everything built in: the agent loads no modules on these kernels.
 * tinyconfig turns off every feature that has a prompt, including the
 * system calls a Linux userland takes for granted; they come back here.
 */
const GUEST_KCONFIG = [
  "PRINTK", "BUG", "TTY", "UNIX98_PTYS", "BLK_DEV_INITRD", "RD_GZIP", "BINFMT_ELF", "BINFMT_SCRIPT",
  "PROC_FS", "PROC_SYSCTL", "SYSFS", "DEVTMPFS", "TMPFS", "SHMEM", "MULTIUSER", "FUTEX", "EPOLL", "SIGNALFD", "TIMERFD",
  "EVENTFD", "POSIX_TIMERS", "FILE_LOCKING", "HIGH_RES_TIMERS", "NO_HZ_IDLE", "SYSVIPC", "POSIX_MQUEUE", "AIO",
  "ADVISE_SYSCALLS", "MEMBARRIER", "RSEQ", "INOTIFY_USER", "FHANDLE", "CROSS_MEMORY_ATTACH",
  // The runtime's devices: virtio-blk disk, virtio-serial agent port, virtio-net, virtio-rng.
  "PCI", "VIRTIO_MENU", "VIRTIO_PCI", "VIRTIO_BLK", "VIRTIO_CONSOLE", "NETDEVICES", "NET_CORE", "VIRTIO_NET",
  "HW_RANDOM", "HW_RANDOM_VIRTIO", "NET", "INET", "UNIX", "PACKET", "BLOCK", "EXT4_FS",
  // Volumes: 9p and virtiofs.
  "NETWORK_FILESYSTEMS", "NET_9P", "NET_9P_VIRTIO", "9P_FS", "FUSE_FS", "VIRTIO_FS",
  "POWER_RESET", "RTC_CLASS",
];

/** The symbols only a PCI transport needs; a machine without PCI takes its virtio devices over virtio-mmio. */
const PCI_ONLY = ["PCI", "VIRTIO_PCI"];

/** GUEST_KCONFIG for the arch's virtio transport (for PCI, the list as it is, so that cached kernels keep their inputs). */
const guestKconfig = (arch: GuestArch) =>
  arch.virtioTransport === "mmio" ? [...GUEST_KCONFIG.filter((s) => !PCI_ONLY.includes(s)), "VIRTIO_MMIO"] : GUEST_KCONFIG;

export interface BuiltKernel {
  readonly path: string;
  /** `uname -r` of the kernel. */
  readonly release: string;
  /** Identifies the kernel's inputs, for the base's own inputs hash. */
  readonly inputs: string;
}

type SourceBuilt = Extract<MinimalSource, { from: "source" }>;

/** Debian's linux-source tree, unpacked once per version. */
export async function linuxSource(): Promise<{ dir: string; version: string }> {
  const pkg = await concretePackage("linux-source", "all", "linux-source-");
  const { deb, version } = await download(pkg, "all");
  const root = join(CACHE, "src", `${pkg}_${version}`);
  await fillOnce(root, async () => {
    log(`unpacking ${pkg} ${version}`);
    await run("sh", ["-c", `dpkg-deb --fsys-tarfile "$1" | tar -xO ./usr/src/${pkg}.tar.xz | tar -xJ -C "$2"`, "sh", deb, root]);
  });
  return { dir: join(root, pkg), version };
}

export async function buildKernel(archName: string, arch: GuestArch, source: SourceBuilt): Promise<BuiltKernel> {
  const { dir: tree, version } = await linuxSource();
  const cross = source.kernelCrossTriplet ?? arch.crossTriplet;
  await ensureHostPackages([`gcc-${cross}`]);
  const gcc = (await run(`${cross}-gcc`, ["-dumpfullversion"])).trim();
  const symbols = [...guestKconfig(arch).filter((s) => !source.kconfigUnavailable?.includes(s)), ...source.kconfig];
  const inputs = createHash("sha256")
    .update(JSON.stringify([version, cross, gcc, source.linuxArch, source.kernelImage, symbols]))
    .digest("hex").slice(0, 16);
  const out = join(CACHE, "kernels", `${archName}-${inputs}`);
  const target = basename(source.kernelImage);
  const path = join(out, target);
  const releaseFile = join(out, "release");
  await fillOnce(out, async () => {
    const build = `${out}.build`;
    await rm(build, { recursive: true, force: true });
    await mkdir(build, { recursive: true });
    const make = (args: string[], opts = {}) => run("make", ["-s", "-C", tree, `O=${build}`, `ARCH=${source.linuxArch}`,
      `CROSS_COMPILE=${cross}-`, ...args], opts);
    await make(["tinyconfig"]);
    const fragment = join(build, "containerx.config");
    await writeFile(fragment, symbols.map((s) => `CONFIG_${s}=y\n`).join(""));
    await run(join(tree, "scripts/kconfig/merge_config.sh"), ["-m", "-O", build, join(build, ".config"), fragment], { cwd: tree });
    await make(["olddefconfig"]);
    // Kconfig drops a symbol whose dependencies are unmet without a word; say which.
    const config = await readFile(join(build, ".config"), "utf8");
    const dropped = symbols.filter((s) => !config.includes(`\nCONFIG_${s}=y\n`));
    if (dropped.length) throw new Error(`the ${archName} kernel configuration lost ${dropped.map((s) => `CONFIG_${s}`).join(", ")} (unmet dependencies)`);

    const jobs = availableParallelism();
    log(`building Linux ${version} for ${archName} (${source.linuxArch}, ${jobs} jobs; about 5 minutes on 2 cores, cached afterwards)`);
    await make([`-j${jobs}`, target], { trace }).catch((err: unknown) => { throw makeFailure(err, `building Linux for ${archName}`); });
    await writeFile(releaseFile, await make(["kernelrelease"]));
    await copyFile(join(build, source.kernelImage), path);
    await copyFile(join(build, ".config"), join(out, "config"));
    await rm(build, { recursive: true, force: true });
  });
  return { path, release: (await readFile(releaseFile, "utf8")).trim(), inputs };
}
