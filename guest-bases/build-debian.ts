/**
 * Builds the `debian/<arch>` guest base: a Debian userland (bookworm, or the
 * arch's debianSuite where bookworm lacks the port) with apt,
 * so Cxfile `run:` steps can install packages, published as
 * containerx/debian:<arch>. It shares the minimal base's kernel and initrd
 * (the cx-agent is the guest's init either way).
 *
 *   1. debootstrap --foreign on the host: downloads and unpacks, runs nothing
 *   2. debootstrap's second stage in a chroot of that tree, the guest arch's
 *      programs run by the host's qemu-user binfmt handler (minutes faster
 *      than a whole emulated machine), in a mount namespace of its own so no
 *      mount it makes outlives it
 *   3. the finished tree becomes an ext4 disk (mke2fs -d, no mount), as qcow2
 *
 * Usage: node dist/guest-bases/build-debian.js [arch]   (after build-minimal)
 */
import { createHash } from "node:crypto";
import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ARCHES, isArchName, type GuestArch } from "../common/arches.js";
import { STANDARD_PATH, type BaseManifest } from "../common/layout.js";
import { run } from "../common/run.js";
import { readBaseManifest } from "../runtime/vm/config.js";
import { debianMirror } from "./debian-packages.js";
import { existingInputs, ext4Qcow2, log, publishBase, trace, upToDate, workDir } from "./publish.js";
import { ensureBinfmt } from "./qemu-user.js";

const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const DEFAULT_SUITE = "bookworm";
const DISK_SIZE = "4G";

/** Runs `script` with /bin/sh inside the rootfs, as the guest's root would, with private mounts. */
async function inChroot(rootfs: string, script: string): Promise<void> {
  await run("unshare", ["--mount", "--propagation", "private", "chroot", rootfs, "/bin/sh", "-c", script], {
    env: { PATH: STANDARD_PATH, DEBIAN_FRONTEND: "noninteractive", LC_ALL: "C" },
    trace,
  });
}

async function main(): Promise<void> {
  const archName = process.argv[2] ?? "aarch64";
  if (!isArchName(archName)) throw new Error(`unknown arch ${archName}; known: ${Object.keys(ARCHES).join(", ")}`);
  const arch: GuestArch = ARCHES[archName];
  const suite = arch.debianSuite ?? DEFAULT_SUITE;
  const image = `containerx/debian:${archName}`;
  const minimal = join(workDir("minimal", archName), "out");
  if (!(await existingInputs(`containerx/minimal:${archName}`))) throw new Error(`containerx/minimal:${archName} is missing: run build-minimal first`);

  const mirror = await debianMirror();
  const h = createHash("sha256");
  for (const f of ["guest-bases/build-debian.ts", "guest-bases/publish.ts"]) h.update(await readFile(join(REPO, f)));
  // The minimal base's kernel and initrd by content (both are reproducible): a
  // change to how the minimal base is built that leaves them alone costs no rebuild here.
  for (const f of ["vmlinuz", "initrd.img"]) h.update(await readFile(join(minimal, f)));
  const inputs = h.update([archName, suite, mirror].join("\n")).digest("hex").slice(0, 16);
  if (await upToDate(image, inputs)) {
    log(`${image} is up to date`);
    return;
  }
  const work = workDir("debian", archName);
  const out = join(work, "out");
  // The disk of the last build outlives its image (a new image store, an rmi):
  // publishing it again costs seconds, building it again minutes.
  const built = join(work, "built-inputs");
  if ((await readFile(built, "utf8").catch(() => "")) === inputs) {
    await publishBase(out, image, archName, "debian", inputs);
    return;
  }
  log(`building ${image} (Debian ${suite} ${arch.debianArch}, second stage under qemu-user: about 2 minutes)`);

  await rm(work, { recursive: true, force: true });
  const rootfs = join(work, "rootfs");
  await mkdir(out, { recursive: true });
  await ensureBinfmt(arch);
  await run("debootstrap", ["--foreign", `--arch=${arch.debianArch}`, "--variant=minbase", suite, rootfs, mirror], { trace });
  await inChroot(rootfs, "/debootstrap/debootstrap --second-stage && apt-get clean && rm -rf /var/lib/apt/lists/*");
  await writeFile(join(rootfs, "etc/hostname"), "containerx\n");
  await ext4Qcow2(rootfs, join(work, "disk.raw"), join(out, "disk.qcow2"), DISK_SIZE, { compressed: true });
  await rm(join(work, "disk.raw"));
  await rm(rootfs, { recursive: true, force: true });

  const base = await readBaseManifest(join(minimal, "base.json"));
  await copyFile(join(minimal, "vmlinuz"), join(out, "vmlinuz"));
  await copyFile(join(minimal, "initrd.img"), join(out, "initrd.img"));
  const manifest: BaseManifest = { ...base, flavour: "debian" };
  await writeFile(join(out, "base.json"), JSON.stringify(manifest, null, 2) + "\n");
  await writeFile(built, inputs);
  await publishBase(out, image, archName, "debian", inputs);
}

main().catch((err: unknown) => {
  log(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
