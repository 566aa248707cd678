/**
 * cx-import-base: turns a user's disk (qcow2 or raw, from the context or a
 * download) into an OS base laid out like a published one. A disk booted with
 * the agent must hold an ext4 filesystem on the whole device, because the
 * agent of the minimal base, whose kernel and initrd boot it, mounts /dev/vda
 * as the root; a disk that boots its own OS is taken as it is.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { copyFile, mkdir, mkdtemp, open, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { ARCHES, isArchName } from "../../common/arches.js";
import { LAYOUT, type BaseManifest } from "../../common/layout.js";
import { e2fsprogsClock } from "../../common/e2fsprogs-clock.js";
import { run, runCapture } from "../../common/run.js";
import type { ImportBaseRequest } from "../../common/step-requests.js";

const EXT4_MAGIC_OFFSET = 1080;
const EXT4_MAGIC = 0xef53;
const say = (msg: string) => process.stdout.write(`${msg}\n`);

export class ImportError extends Error {}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

async function detectFormat(path: string): Promise<"qcow2" | "raw"> {
  const info = JSON.parse(await run("qemu-img", ["info", "--output=json", path])) as { format: string; "backing-filename"?: string };
  if (info["backing-filename"]) throw new ImportError(`the disk has a backing file (${info["backing-filename"]}); flatten it first: qemu-img convert -O qcow2 in.qcow2 out.qcow2`);
  if (info.format !== "qcow2" && info.format !== "raw") throw new ImportError(`the disk is ${info.format}; base.disk takes qcow2 or raw (qemu-img convert -O qcow2 converts it)`);
  return info.format;
}

async function isExt4(raw: string): Promise<boolean> {
  const fd = await open(raw, "r");
  try {
    const buf = Buffer.alloc(2);
    const { bytesRead } = await fd.read(buf, 0, 2, EXT4_MAGIC_OFFSET);
    return bytesRead === 2 && buf.readUInt16LE(0) === EXT4_MAGIC;
  } finally {
    await fd.close();
  }
}

async function sha256Check(req: ImportBaseRequest): Promise<void> {
  if (!req.sha256) return;
  const actual = await sha256Of(req.disk);
  if (actual !== req.sha256) throw new ImportError(`the disk's sha256 is ${actual}, but base.sha256 says ${req.sha256}`);
}

/** An ext4 disk for the agent: checked, its journal replayed, written as qcow2. */
async function importAgentDisk(req: ImportBaseRequest, format: "qcow2" | "raw"): Promise<void> {
  const scratch = await mkdtemp(join(tmpdir(), "cx-import-"));
  try {
    const raw = join(scratch, "disk.raw");
    say(`converting the ${format} disk to check its filesystem`);
    await run("qemu-img", ["convert", "-f", format, "-O", "raw", req.disk, raw]);
    if (!(await isExt4(raw))) {
      throw new ImportError("the disk is not an ext4 filesystem image; base.disk needs ext4 on the whole disk (no partition table), as made by mkfs.ext4 -d rootfs/ disk.img 1G, unless base.boot says how its own OS boots (kernel, uefi, firmware)");
    }
    // Replays a journal left by an unclean shutdown; 1 and 2 mean "fixed".
    const fsck = await runCapture("/sbin/e2fsck", ["-fp", raw], { env: e2fsprogsClock(req.sourceDateEpoch) });
    if (fsck.exitCode > 2) throw new ImportError(`e2fsck found errors it cannot fix on the disk:\n${fsck.stdout}${fsck.stderr}`);
    say("writing the base disk as qcow2");
    await run("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", raw, join(req.out, "disk.qcow2")]);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The base's boot files in their LAYOUT places, and its manifest. */
async function bootFiles(req: ImportBaseRequest): Promise<BaseManifest> {
  const place = (from: string, layoutPath: string) => copyFile(from, join(req.out, basename(layoutPath)));
  const boot = req.boot;
  switch (boot.kind) {
    case "agent": {
      const kernelBase = JSON.parse(await readFile(join(boot.kernelBase, "base.json"), "utf8")) as BaseManifest;
      await place(join(boot.kernelBase, basename(LAYOUT.baseKernel)), LAYOUT.baseKernel);
      await place(join(boot.kernelBase, basename(LAYOUT.baseInitrd)), LAYOUT.baseInitrd);
      return { ...kernelBase, flavour: "disk" };
    }
    case "kernel":
      await place(boot.kernel, LAYOUT.baseKernel);
      if (boot.initrd) await place(boot.initrd, LAYOUT.baseInitrd);
      return { arch: req.arch, flavour: "disk", kernelArgs: [`console=${consoleOf(req.arch)}`], boot: { kind: "kernel", initrd: boot.initrd !== undefined } };
    case "uefi":
      return { arch: req.arch, flavour: "disk", kernelArgs: [], boot: { kind: "uefi" } };
    case "firmware":
      await place(boot.firmware, LAYOUT.baseFirmware);
      return { arch: req.arch, flavour: "disk", kernelArgs: [], boot: { kind: "firmware" } };
  }
}

function consoleOf(arch: string): string {
  if (!isArchName(arch)) throw new ImportError(`unknown guest arch ${arch}`);
  return ARCHES[arch].console;
}

export async function importBase(req: ImportBaseRequest): Promise<void> {
  await sha256Check(req);
  const format = req.format ?? await detectFormat(req.disk);
  await mkdir(req.out, { recursive: true });
  if (req.boot.kind === "agent") {
    await importAgentDisk(req, format);
  } else {
    // An OS that boots itself: its disk is taken as it is (partitions, any filesystem).
    say(`writing the ${format} disk as qcow2`);
    await run("qemu-img", ["convert", "-f", format, "-O", "qcow2", req.disk, join(req.out, "disk.qcow2")]);
  }
  const manifest = await bootFiles(req);
  await writeFile(join(req.out, "base.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  say(req.boot.kind === "agent"
    ? `imported: ${manifest.arch} disk with kernel ${manifest.kernelVersion} and the Containerx agent`
    : `imported: ${manifest.arch} disk that boots with ${req.boot.kind}, without the Containerx agent`);
}
