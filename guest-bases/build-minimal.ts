/**
 * Builds the `minimal/<arch>` guest base from Debian packages and publishes it
 * to the local image store as containerx/minimal:<arch>.
 *
 *   kernel      Debian's kernel for the arch, booted directly (no firmware)
 *   initrd.img  cx-agent as /init plus the virtio/ext4 modules it loads
 *   disk.qcow2  ext4 root made with `mke2fs -d` (no mount): busybox-static
 *
 * Usage: node dist/guest-bases/build-minimal.js [arch]
 * Re-running is cheap: downloads are cached and the image is rebuilt only
 * when its inputs (packages, agent source, this builder) changed.
 */
import { createHash } from "node:crypto";
import { chmod, copyFile, mkdir, readFile, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ARCHES, isArchName, type ArchName } from "../common/arches.js";
import type { BaseManifest } from "../common/layout.js";
import { run } from "../common/run.js";
import { busyboxApplets } from "./busybox-applets.js";
import { moduleLoadOrder } from "./kernel-modules.js";
import { CACHE, existingInputs, ext4Qcow2, log, publishBase, SOURCE_DATE_EPOCH, trace, workDir } from "./publish.js";

const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const DISK_SIZE = "1G";
// 9p and virtiofs: volumes shared from the container (docker run -v, image VOLUMEs).
const MODULES = ["virtio_pci", "virtio_blk", "virtio_console", "virtio_net", "ext4", "crc32c_generic", "9p", "9pnet_virtio", "virtiofs"];

/** Makes the arch's packages downloadable and its cross compiler runnable. */
async function ensureArchTools(debianArch: string, crossTriplet: string): Promise<void> {
  const native = (await run("dpkg", ["--print-architecture"])).trim();
  if (debianArch === native) return;
  const foreign = (await run("dpkg", ["--print-foreign-architectures"])).split("\n");
  if (!foreign.includes(debianArch)) {
    await run("dpkg", ["--add-architecture", debianArch], { trace });
    // A mirror mid-sync can fail one index (seen: bookworm-security armhf); the
    // packages needed may still resolve, and the download says so if not.
    await run("apt-get", ["update", "-qq"], { trace }).catch((err: Error) => log(`apt-get update: ${err.message.split("\n")[0]}; going on`));
  }
  const compiler = await run("sh", ["-c", `command -v ${crossTriplet}-gcc || true`]);
  if (!compiler.trim()) {
    await run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", `gcc-${crossTriplet}`, `libc6-dev-${debianArch}-cross`],
      { trace, env: { DEBIAN_FRONTEND: "noninteractive" } });
  }
}

/** Modules may come compressed; the agent loads plain .ko files. */
async function copyModule(from: string, to: string): Promise<void> {
  const tool = from.endsWith(".xz") ? "xz" : from.endsWith(".zst") ? "zstd" : from.endsWith(".gz") ? "gzip" : undefined;
  if (!tool) return copyFile(from, to);
  await run("sh", ["-c", `${tool} -dc "$1" > "$2"`, "sh", from, to]);
}

/** The concrete package a metapackage points at, e.g. linux-image-6.1.0-56-arm64. */
async function kernelImagePackage(meta: string, debianArch: string): Promise<string> {
  const out = await run("apt-cache", ["depends", `${meta}:${debianArch}`]);
  const m = out.match(/Depends: (linux-image-[^\s:]+)/);
  if (!m) throw new Error(`cannot find the kernel package behind ${meta}:${debianArch}`);
  return m[1];
}

async function download(pkg: string, debianArch: string, dir: string): Promise<{ deb: string; version: string }> {
  const version = (await run("apt-cache", ["policy", `${pkg}:${debianArch}`])).match(/Candidate: (\S+)/)?.[1];
  if (!version || version === "(none)") throw new Error(`no candidate for ${pkg}:${debianArch}`);
  const deb = join(dir, `${pkg}_${version.replace(/:/g, "%3a")}_${debianArch}.deb`);
  const have = await readdir(dir);
  if (!have.includes(deb.slice(dir.length + 1))) {
    // _apt cannot write into root-owned cache dirs; download as root quietly.
    await run("apt-get", ["download", "-o", "APT::Sandbox::User=root", `${pkg}:${debianArch}=${version}`], { cwd: dir, trace });
  }
  return { deb, version };
}

async function imageInputs(archName: ArchName, versions: string[]): Promise<string> {
  const h = createHash("sha256");
  for (const f of ["guest-agent/agent.c", "guest-bases/build-minimal.ts", "guest-bases/publish.ts"]) {
    h.update(await readFile(join(REPO, f)));
  }
  // This arch's row only, so a new arch leaves the other bases alone; UEFI firmware belongs to the runtime, not to a base.
  const { uefi: _runtimeFirmware, ...row } = ARCHES[archName];
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
  const debs = join(CACHE, "debs", arch.debianArch);
  await mkdir(debs, { recursive: true });

  await ensureArchTools(arch.debianArch, arch.crossTriplet);
  const kernelPkg = await kernelImagePackage(arch.kernelPackage, arch.debianArch);
  const kernel = await download(kernelPkg, arch.debianArch, debs);
  const busybox = await download("busybox-static", arch.debianArch, debs);

  const inputs = await imageInputs(archName, [kernel.version, busybox.version]);
  if ((await existingInputs(image)) === inputs) {
    log(`${image} is up to date`);
    return;
  }
  log(`building ${image} (kernel ${kernelPkg} ${kernel.version}, busybox ${busybox.version})`);

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
  const modules = moduleLoadOrder(await readFile(join(moduleDir, "modules.dep"), "utf8"), MODULES,
    await readFile(join(moduleDir, "modules.builtin"), "utf8"));

  // initramfs: the agent is /init; modules flat under /lib/modules in load order.
  const initrd = join(work, "initrd");
  for (const d of ["dev", "proc", "sys", "sysroot", "etc/cx", "lib/modules"]) await mkdir(join(initrd, d), { recursive: true });
  await run(`${arch.crossTriplet}-gcc`, ["-static", "-Os", "-Wall", "-Wextra", "-Werror", "-o", join(initrd, "init"), join(REPO, "guest-agent/agent.c")], { trace });
  await run(`${arch.crossTriplet}-strip`, [join(initrd, "init")]);
  const moduleList: string[] = [];
  for (const m of modules) {
    const target = `/lib/modules/${m.slice(m.lastIndexOf("/") + 1).replace(/\.ko\.[a-z]+$/, ".ko")}`;
    await copyModule(join(moduleDir, m), join(initrd, target));
    moduleList.push(target);
  }
  await writeFile(join(initrd, "etc/cx/modules"), moduleList.join("\n") + "\n");

  // Root filesystem: busybox with one symlink per applet, a root user, FHS dirs.
  const rootfs = join(work, "rootfs");
  for (const d of ["bin", "sbin", "usr/bin", "usr/sbin", "etc", "dev", "proc", "sys", "tmp", "root", "opt", "var/tmp", "run", "home"]) {
    await mkdir(join(rootfs, d), { recursive: true });
  }
  await chmod(join(rootfs, "tmp"), 0o1777);
  await chmod(join(rootfs, "var/tmp"), 0o1777);
  const busyboxBin = join(rootfs, "bin/busybox");
  await copyFile(join(pkgRoot, "bin/busybox"), busyboxBin);
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
  // Most arches ship a compressed vmlinuz; some only a vmlinux that QEMU loads as is.
  const boot = await readdir(join(pkgRoot, "boot"));
  const kernelFile = [`vmlinuz-${kver}`, `vmlinux-${kver}`].find((f) => boot.includes(f));
  if (!kernelFile) throw new Error(`${kernelPkg} has no /boot/vmlinuz-${kver} or vmlinux-${kver}`);
  await copyFile(join(pkgRoot, "boot", kernelFile), join(out, "vmlinuz"));
  const manifest: BaseManifest = {
    arch: archName,
    flavour: "minimal",
    kernelArgs: [`console=${arch.console}`, "quiet", "panic=-1"],
    kernelVersion: kver,
  };
  await writeFile(join(out, "base.json"), JSON.stringify(manifest, null, 2) + "\n");
  await publishBase(out, image, archName, "minimal", inputs);
}

main().catch((err: unknown) => {
  log(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
