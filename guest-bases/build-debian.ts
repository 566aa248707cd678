/**
 * Builds the `debian/<arch>` guest base: a Debian userland (bookworm, or the
 * arch's debianSuite where bookworm lacks the port) with apt,
 * so Cxfile `run:` steps can install packages, published as
 * containerx/debian:<arch>. It shares the minimal base's kernel and initrd
 * (the cx-agent is the guest's init either way).
 *
 *   1. debootstrap --foreign on the host: downloads and unpacks, runs nothing
 *   2. the unpacked tree becomes an ext4 disk (mke2fs -d, no mount)
 *   3. the guest boots it under QEMU, with the runtime's own VM config, and
 *      runs debootstrap's second stage natively: no binfmt, no qemu-user
 *
 * Usage: node dist/guest-bases/build-debian.js [arch]   (after build-minimal)
 */
import { createHash } from "node:crypto";
import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { ARCHES, isArchName, type GuestArch } from "../common/arches.js";
import { STANDARD_PATH, type BaseManifest } from "../common/layout.js";
import { run } from "../common/run.js";
import { buildQemuArgs } from "../runtime/launcher/qemu-args.js";
import { settingsFromEnv } from "../runtime/launcher/settings.js";
import { sizeGuest } from "../runtime/launcher/guest-size.js";
import { readBaseManifest, vmConfigFor } from "../runtime/launcher/vm-config.js";
import { failureReason, runGuest } from "../runtime/launcher/vm-session.js";
import { debianMirror } from "./debian-packages.js";
import { existingInputs, ext4Qcow2, log, publishBase, trace, workDir } from "./publish.js";

const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const DEFAULT_SUITE = "bookworm";
const DISK_SIZE = "4G";
/** The second stage runs dpkg for every package under TCG: give it room. */
const BUILD_MEMORY = "1024M";

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
  if ((await existingInputs(image)) === inputs) {
    log(`${image} is up to date`);
    return;
  }
  const work = workDir("debian", archName);
  const out = join(work, "out");
  // The disk of the last build outlives its image (a new image store, an rmi):
  // publishing it again costs seconds, building it again minutes of TCG.
  const built = join(work, "built-inputs");
  if ((await readFile(built, "utf8").catch(() => "")) === inputs) {
    await publishBase(out, image, archName, "debian", inputs);
    return;
  }
  log(`building ${image} (Debian ${suite} ${arch.debianArch}, second stage inside the guest under TCG: a few minutes)`);

  await rm(work, { recursive: true, force: true });
  const rootfs = join(work, "rootfs");
  await mkdir(out, { recursive: true });
  await run("debootstrap", ["--foreign", `--arch=${arch.debianArch}`, "--variant=minbase", suite, rootfs, mirror], { trace });
  await writeFile(join(rootfs, "etc/hostname"), "containerx\n");

  const stage = join(work, "stage.qcow2");
  await ext4Qcow2(rootfs, join(work, "disk.raw"), stage, DISK_SIZE);
  await rm(join(work, "disk.raw"));
  await rm(rootfs, { recursive: true, force: true });

  const base = await readBaseManifest(join(minimal, "base.json"));
  const state = join(work, "vm");
  await mkdir(state);
  const settings = settingsFromEnv({ CX_MEMORY: BUILD_MEMORY });
  const vm = vmConfigFor(base, settings, { disk: stage, stateDir: state, accel: "tcg", size: sizeGuest(settings, {}), baseDir: minimal });
  log(`+ ${buildQemuArgs(vm).binary} … /debootstrap/debootstrap --second-stage`);
  const indented = new Writable({
    write(chunk: Buffer, _encoding, done) {
      process.stderr.write(chunk.toString("utf8").replace(/^(?=.)/gm, "guest-base:   "));
      done();
    },
  });
  const outcome = await runGuest(vm, {
    argv: ["/bin/sh", "-c", "/debootstrap/debootstrap --second-stage && apt-get clean && rm -rf /var/lib/apt/lists/*"],
    env: [`PATH=${STANDARD_PATH}`, "DEBIAN_FRONTEND=noninteractive"],
    cwd: "/",
    hostname: "containerx",
    clockNs: BigInt(Date.now()) * 1_000_000n,
  }, { stdout: indented, stderr: indented });
  if (outcome.kind !== "exited" || outcome.code !== 0) {
    const why = outcome.kind === "exited" ? `it exited with code ${outcome.code}` : outcome.kind === "stopped" ? `stopped by ${outcome.signal}` : failureReason(outcome);
    throw new Error(`the second stage failed in the guest: ${why} (console: ${join(state, "console.log")})`);
  }

  // Re-writing the disk drops the clusters the second stage freed; compressed
  // clusters stay readable, and the guest's writes go to overlays anyway.
  await run("qemu-img", ["convert", "-c", "-f", "qcow2", "-O", "qcow2", stage, join(out, "disk.qcow2")], { trace });
  await rm(stage);
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
