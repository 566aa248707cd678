import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { createOverlayDisk, qcow2Overlay } from "../../runtime/vm/overlay-disk.js";

const run = async (file: string, args: string[], cwd: string) => (await promisify(execFile)(file, args, { cwd })).stdout;
const GiB = 1024 ** 3;

interface Info {
  "virtual-size": number;
  "backing-filename": string;
  "backing-filename-format": string;
  "full-backing-filename": string;
}

test("an overlay written in-process is a qcow2 that qemu-img checks clean and QEMU reads and writes through", async () => {
  const dir = await mkdtemp(join(tmpdir(), "cx-overlay-"));
  try {
    await run("qemu-img", ["create", "-q", "-f", "qcow2", "base.qcow2", "1G"], dir);
    await run("qemu-io", ["-c", "write -P 0x5a 1M 64k", "base.qcow2"], dir);
    await createOverlayDisk(join(dir, "top.qcow2"), "base.qcow2");
    const info = JSON.parse(await run("qemu-img", ["info", "--output=json", "top.qcow2"], dir)) as Info;
    assert.equal(info["virtual-size"], GiB, "the backing disk's size");
    assert.equal(info["backing-filename"], "base.qcow2", "relative, as the image layers need");
    assert.equal(info["backing-filename-format"], "qcow2");
    await run("qemu-img", ["check", "top.qcow2"], dir);
    assert.match(await run("qemu-io", ["-c", "read -P 0x5a 1M 64k", "top.qcow2"], dir), /read 65536\/65536/, "the backing file's data shows through");
    await run("qemu-io", ["-c", "write -P 0xa5 0 192k", "-c", "write -P 0x11 900M 64k", "top.qcow2"], dir);
    await run("qemu-img", ["check", "top.qcow2"], dir);
    assert.match(await run("qemu-io", ["-c", "read -P 0xa5 0 192k", "top.qcow2"], dir), /read 196608\/196608/);
    assert.match(await run("qemu-io", ["-c", "read -P 0x5a 1M 64k", "base.qcow2"], dir), /read 65536/, "the backing disk is untouched");

    await createOverlayDisk(join(dir, "big.qcow2"), join(dir, "base.qcow2"), 3 * 1024 * 1024);
    const big = JSON.parse(await run("qemu-img", ["info", "--output=json", "big.qcow2"], dir)) as Info;
    assert.equal(big["virtual-size"], 3 * 1024 * GiB, "CX_DISK_SIZE: an L1 table of more than one cluster");
    await run("qemu-img", ["check", "big.qcow2"], dir);
    await run("qemu-io", ["-c", "write -P 0x22 2T 64k", "big.qcow2"], dir);
    await run("qemu-img", ["check", "big.qcow2"], dir);

    await assert.rejects(createOverlayDisk(join(dir, "small.qcow2"), "base.qcow2", 512), /CX_DISK_SIZE=512M .* the minimum is 1024M/);
    await writeFile(join(dir, "raw.img"), Buffer.alloc(4096));
    await assert.rejects(createOverlayDisk(join(dir, "x.qcow2"), "raw.img"), /cannot create .*x.qcow2 over raw.img: .*raw.img is not a qcow2 image/);
    await assert.rejects(createOverlayDisk(join(dir, "y.qcow2"), "missing.qcow2"), /cannot create .*y.qcow2 over missing.qcow2/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("an empty overlay is a few clusters: its header, refcounts and L1 table", () => {
  assert.equal(qcow2Overlay("/cx/snapshot/disk.qcow2", GiB).length, 3 * 65536 + 2 * 8, "as qemu-img's own");
  assert.throws(() => qcow2Overlay("", GiB), /backing file name/);
});
