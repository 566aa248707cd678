/**
 * Builds the `minimal/<arch>` guest base from Debian packages and publishes it
 * to the local image store as containerx/minimal:<arch>.
 *
 *   kernel      Debian's kernel for the arch, booted directly (no firmware);
 *               for an arch Debian has no port of, built from linux-source
 *   initrd.img  cx-agent as /init plus the virtio/ext4 modules it loads
 *   disk.qcow2  ext4 root made with `mke2fs -d` (no mount): busybox-static,
 *               or busybox built from Debian's source the same way
 *
 * Usage: node dist/guest-bases/build-minimal.js [arch]
 * Re-running is cheap: downloads are cached and the image is rebuilt only
 * when its inputs (packages, agent source, this builder) changed.
 */
import { createHash } from "node:crypto";
import { chmod, copyFile, mkdir, readFile, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ARCHES, isArchName, type ArchName, type GuestArch, type MinimalSource } from "../common/arches.js";
import type { BaseManifest } from "../common/layout.js";
import { run } from "../common/run.js";
import { busyboxApplets } from "./busybox-applets.js";
import { buildBusybox } from "./build-busybox.js";
import { buildKernel } from "./build-kernel.js";
import { concretePackage, download, ensureForeignArch, ensureHostPackages } from "./debian-packages.js";
import { kernelHasModule, moduleLoadOrder } from "./kernel-modules.js";
import { userlandToolchain, type Toolchain } from "./userland-toolchain.js";
import { ext4Qcow2, log, publishBase, SOURCE_DATE_EPOCH, trace, upToDate, workDir } from "./publish.js";

const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const DISK_SIZE = "1G";
// 9p and virtiofs: volumes shared from the container (docker run -v, image VOLUMEs).
const MODULES = ["virtio_pci", "virtio_blk", "virtio_console", "virtio_net", "ext4", "crc32c_generic", "9p", "9pnet_virtio", "virtiofs"];
/**
 * The screen's (CX_DISPLAY): bochs, Linux's driver of QEMU's bochs-display
 * and standard VGA, simple framebuffers in device memory that every machine
 * with PCI takes (/dev/fb0), and the virtio keyboard and tablet as evdev
 * devices. The agent loads them only in a guest that has the keyboard, so a
 * guest without a screen loads nothing more.
 */
const SCREEN_MODULES = ["bochs", "virtio_input", "evdev"];

/** Modules may come compressed; the agent loads plain .ko files. */
async function copyModule(from: string, to: string): Promise<void> {
  const tool = from.endsWith(".xz") ? "xz" : from.endsWith(".zst") ? "zstd" : from.endsWith(".gz") ? "gzip" : undefined;
  if (!tool) return copyFile(from, to);
  await run("sh", ["-c", `${tool} -dc "$1" > "$2"`, "sh", from, to]);
}

/** What the base is made of, wherever it came from. */
interface Parts {
  readonly kernel: string;
  readonly kernelRelease: string;
  /** Kernel modules for the agent to load, in load order (none when everything is built in). */
  readonly modules: readonly string[];
  /** Whether the kernel drives the screen's devices, and the modules that does take beyond `modules`, in load order. */
  readonly screen: boolean;
  readonly screenModules: readonly string[];
  readonly busybox: string;
  /** Versions of the parts, for the image's inputs hash. */
  readonly versions: readonly string[];
}

/** A Debian port's own kernel package, its modules the agent needs, and busybox-static, unpacked in `work`. */
async function debianPortParts(arch: GuestArch, kernelPackage: string, work: string): Promise<Parts> {
  await ensureForeignArch(arch.debianArch);
  const kernelPkg = await concretePackage(kernelPackage, arch.debianArch, "linux-image-");
  const kernel = await download(kernelPkg, arch.debianArch);
  const busybox = await download("busybox-static", arch.debianArch);
  await rm(work, { recursive: true, force: true });
  const pkgRoot = join(work, "packages");
  // Packages from a merged-/usr release (trixie) put /lib and /bin under /usr.
  for (const d of ["usr/lib", "usr/bin"]) await mkdir(join(pkgRoot, d), { recursive: true });
  await symlink("usr/lib", join(pkgRoot, "lib"));
  await symlink("usr/bin", join(pkgRoot, "bin"));
  for (const { deb } of [kernel, busybox]) await run("dpkg-deb", ["-x", deb, pkgRoot]);
  const kver = (await readdir(join(pkgRoot, "lib/modules")))[0];
  await run("/sbin/depmod", ["-b", pkgRoot, kver]);
  const moduleDir = join(pkgRoot, "lib/modules", kver);
  const modulesDep = await readFile(join(moduleDir, "modules.dep"), "utf8");
  const builtin = await readFile(join(moduleDir, "modules.builtin"), "utf8");
  const modules = moduleLoadOrder(modulesDep, MODULES, builtin);
  const screen = SCREEN_MODULES.every((m) => kernelHasModule(modulesDep, builtin, m));
  const screenModules = screen ? moduleLoadOrder(modulesDep, SCREEN_MODULES, builtin).filter((m) => !modules.includes(m)) : [];
  // Most arches ship a compressed vmlinuz; some only a vmlinux that QEMU loads as is.
  const boot = await readdir(join(pkgRoot, "boot"));
  const kernelFile = [`vmlinuz-${kver}`, `vmlinux-${kver}`].find((f) => boot.includes(f));
  if (!kernelFile) throw new Error(`${kernelPkg} has no /boot/vmlinuz-${kver} or vmlinux-${kver}`);
  return {
    kernel: join(pkgRoot, "boot", kernelFile),
    kernelRelease: kver,
    modules: modules.map((m) => join(moduleDir, m)),
    screen,
    screenModules: screenModules.map((m) => join(moduleDir, m)),
    busybox: join(pkgRoot, "bin/busybox"),
    versions: [`${kernelPkg} ${kernel.version}`, `busybox-static ${busybox.version}`],
  };
}

/** Kernel and busybox built from Debian's sources, for an arch Debian has no port of. */
async function sourceParts(archName: ArchName, arch: GuestArch, source: Extract<MinimalSource, { from: "source" }>, toolchain: Toolchain): Promise<Parts> {
  const kernel = await buildKernel(archName, arch, source);
  const busybox = await buildBusybox(archName, arch, toolchain);
  return {
    kernel: kernel.path,
    kernelRelease: kernel.release,
    modules: [],
    // tinyconfig and the guest's needs: no DRM.
    screen: false,
    screenModules: [],
    busybox: busybox.path,
    versions: [`linux ${kernel.inputs}`, `busybox ${busybox.version}`],
  };
}

async function imageInputs(archName: ArchName, versions: readonly string[]): Promise<string> {
  const h = createHash("sha256");
  for (const f of ["guest-agent/agent.c", "guest-agent/protocol.c", "guest-agent/protocol.h", "guest-bases/build-minimal.ts", "guest-bases/publish.ts"]) {
    h.update(await readFile(join(REPO, f)));
  }
  // This arch's row only, so a new arch leaves the other bases alone; UEFI firmware belongs to the runtime, not to a base.
  const { uefi: _runtimeFirmware, ...row }: GuestArch = ARCHES[archName];
  h.update([archName, JSON.stringify(row), SOURCE_DATE_EPOCH, ...versions].join("\n"));
  return h.digest("hex").slice(0, 16);
}

async function buildInitramfs(stage: string, out: string): Promise<void> {
  const files = (await run("find", [".", "-mindepth", "1"], { cwd: stage })).split("\n").filter(Boolean).sort();
  await run("find", [stage, "-exec", "touch", "-h", "-d", `@${SOURCE_DATE_EPOCH}`, "{}", "+"]);
  await run("sh", ["-c", `cpio --quiet -o -H newc -R 0:0 --reproducible | gzip -9 -n > "${out}"`], {
    cwd: stage,
    input: files.join("\n") + "\n",
  });
}

async function main(): Promise<void> {
  const archName = process.argv[2] ?? "aarch64";
  if (!isArchName(archName)) throw new Error(`unknown arch ${archName}; known: ${Object.keys(ARCHES).join(", ")}`);
  const arch = ARCHES[archName];
  const image = `containerx/minimal:${archName}`;
  const work = workDir("minimal", archName);
  if (arch.minimal.from === "source") {
    // The host side of a kernel build (kconfig, its scripts, headers_install) and of unpacking Debian sources.
    await ensureHostPackages(["gcc", "libc6-dev", "make", "flex", "bison", "bc", "rsync", "dpkg-dev", "xz-utils", "bzip2"]);
  }
  const toolchain = await userlandToolchain(archName, arch);
  // Beside the work directory: build-debian reads this base's files from it while it is up to date.
  const partsDir = `${work}.parts`;
  const parts = arch.minimal.from === "debian-port"
    ? await debianPortParts(arch, arch.minimal.kernelPackage, partsDir)
    : await sourceParts(archName, arch, arch.minimal, toolchain);

  const inputs = await imageInputs(archName, [toolchain.version, ...parts.versions]);
  if (await upToDate(image, inputs)) {
    await rm(partsDir, { recursive: true, force: true });
    log(`${image} is up to date`);
    return;
  }
  log(`building ${image} (${parts.versions.join(", ")})`);

  await rm(work, { recursive: true, force: true });
  // initramfs: the agent is /init; modules flat under /lib/modules in load order.
  const initrd = join(work, "initrd");
  for (const d of ["dev", "proc", "sys", "sysroot", "etc/cx", "lib/modules"]) await mkdir(join(initrd, d), { recursive: true });
  const [cc, ...ccFlags] = toolchain.cc;
  await run(cc, [...ccFlags, "-Os", "-Wall", "-Wextra", "-Werror", "-o", join(initrd, "init"), join(REPO, "guest-agent/agent.c"), join(REPO, "guest-agent/protocol.c")], { trace });
  await run(toolchain.strip, [join(initrd, "init")]);
  const moduleList = async (modules: readonly string[], list: string) => {
    const targets: string[] = [];
    for (const m of modules) {
      const target = `/lib/modules/${m.slice(m.lastIndexOf("/") + 1).replace(/\.ko\.[a-z]+$/, ".ko")}`;
      await copyModule(m, join(initrd, target));
      targets.push(target);
    }
    await writeFile(join(initrd, list), targets.map((t) => `${t}\n`).join(""));
  };
  await moduleList(parts.modules, "etc/cx/modules");
  if (parts.screen) await moduleList(parts.screenModules, "etc/cx/modules-screen");

  // Root filesystem: busybox with one symlink per applet, a root user, FHS dirs.
  const rootfs = join(work, "rootfs");
  for (const d of ["bin", "sbin", "usr/bin", "usr/sbin", "etc", "dev", "proc", "sys", "tmp", "root", "opt", "var/tmp", "run", "home"]) {
    await mkdir(join(rootfs, d), { recursive: true });
  }
  await chmod(join(rootfs, "tmp"), 0o1777);
  await chmod(join(rootfs, "var/tmp"), 0o1777);
  const busyboxBin = join(rootfs, "bin/busybox");
  await copyFile(parts.busybox, busyboxBin);
  for (const applet of busyboxApplets(await readFile(busyboxBin))) {
    if (applet !== "busybox") await symlink("busybox", join(rootfs, "bin", applet));
  }
  await writeFile(join(rootfs, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
  await writeFile(join(rootfs, "etc/group"), "root:x:0:\nnogroup:x:65534:\n");
  await writeFile(join(rootfs, "etc/hostname"), "containerx\n");
  await writeFile(join(rootfs, "etc/os-release"), `NAME="Containerx minimal"\nID=containerx-minimal\nVERSION_ID=1\n`);

  const out = join(work, "out");
  await mkdir(out);
  const raw = join(work, "disk.raw");
  await ext4Qcow2(rootfs, raw, join(out, "disk.qcow2"), DISK_SIZE);
  await rm(raw);
  await buildInitramfs(initrd, join(out, "initrd.img"));
  await copyFile(parts.kernel, join(out, "vmlinuz"));
  const manifest: BaseManifest = {
    arch: archName,
    flavour: "minimal",
    kernelArgs: [`console=${arch.console}`, "quiet", "panic=-1"],
    kernelVersion: parts.kernelRelease,
    ...(parts.screen ? { screen: true } : {}),
  };
  await writeFile(join(out, "base.json"), JSON.stringify(manifest, null, 2) + "\n");
  await publishBase(out, image, archName, "minimal", inputs);
  await rm(partsDir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  log(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
