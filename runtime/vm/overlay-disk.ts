/**
 * A guest's writable disk: an empty qcow2 (version 3) over a qcow2 backing
 * file, written here rather than by spawning `qemu-img create`, which would
 * sit before every container's QEMU start. An empty overlay is a header, a
 * refcount table and block, and an L1 table of zeros: a few hundred bytes
 * of data. The unit test has `qemu-img check` and `qemu-io` accept it.
 */
import { open, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { guestVariable } from "../../common/guest-env.js";

const MiB = 1024 * 1024;
const MAGIC = 0x514649fb;
const CLUSTER_BITS = 16;
const CLUSTER = 1 << CLUSTER_BITS;
/** Bytes one L1 entry maps: an L2 table of a cluster of 8-byte entries, each a cluster. */
const L1_ENTRY_SPAN = (CLUSTER / 8) * CLUSTER;
const HEADER_BYTES = 112;
/** Header extension: the backing file's format. */
const BACKING_FORMAT_EXTENSION = 0xe2792aca;
/** 16-bit refcounts (refcount_order 4), as qemu-img makes them. */
const REFCOUNT_ORDER = 4;
/** QEMU's own limit on a backing file name. */
const MAX_BACKING_NAME = 1023;

/** The overlay's bytes: clusters 0 header, 1 refcount table, 2 refcount block, 3… the L1 table. */
export function qcow2Overlay(backing: string, virtualBytes: number): Buffer {
  const name = Buffer.from(backing, "utf8");
  if (name.length === 0 || name.length > MAX_BACKING_NAME) throw new Error(`a qcow2 backing file name must be 1 to ${MAX_BACKING_NAME} bytes: ${backing}`);
  const l1Entries = Math.ceil(virtualBytes / L1_ENTRY_SPAN);
  const l1Clusters = Math.ceil((l1Entries * 8) / CLUSTER);
  const l1Offset = 3 * CLUSTER;
  const format = Buffer.from("qcow2");
  const extensions = Buffer.alloc(8 + 8 + 8);
  extensions.writeUInt32BE(BACKING_FORMAT_EXTENSION, 0);
  extensions.writeUInt32BE(format.length, 4);
  format.copy(extensions, 8);
  // The end-of-extensions marker is the zeroed last 8 bytes.
  const nameOffset = HEADER_BYTES + extensions.length;

  const image = Buffer.alloc(l1Offset + l1Entries * 8);
  image.writeUInt32BE(MAGIC, 0);
  image.writeUInt32BE(3, 4);
  image.writeBigUInt64BE(BigInt(nameOffset), 8);
  image.writeUInt32BE(name.length, 16);
  image.writeUInt32BE(CLUSTER_BITS, 20);
  image.writeBigUInt64BE(BigInt(virtualBytes), 24);
  image.writeUInt32BE(l1Entries, 36);
  image.writeBigUInt64BE(BigInt(l1Offset), 40);
  image.writeBigUInt64BE(BigInt(CLUSTER), 48);
  image.writeUInt32BE(1, 56);
  image.writeUInt32BE(REFCOUNT_ORDER, 96);
  image.writeUInt32BE(HEADER_BYTES, 100);
  extensions.copy(image, HEADER_BYTES);
  name.copy(image, nameOffset);
  image.writeBigUInt64BE(BigInt(2 * CLUSTER), CLUSTER);
  for (let cluster = 0; cluster < 3 + l1Clusters; cluster++) image.writeUInt16BE(1, 2 * CLUSTER + cluster * 2);
  return image;
}

/** The virtual size a qcow2 image's header gives. */
export async function qcow2VirtualBytes(path: string): Promise<number> {
  const file = await open(path, "r");
  try {
    const header = Buffer.alloc(32);
    await file.read(header, 0, header.length, 0);
    if (header.readUInt32BE(0) !== MAGIC) throw new Error(`${path} is not a qcow2 image`);
    return Number(header.readBigUInt64BE(24));
  } finally {
    await file.close();
  }
}

/**
 * A qcow2 at `path` over `backing` (absolute, or relative to path's
 * directory), as large as `sizeMiB` when given (CX_DISK_SIZE): never smaller
 * than the backing disk.
 */
export async function createOverlayDisk(path: string, backing: string, sizeMiB?: number): Promise<void> {
  const backingBytes = await qcow2VirtualBytes(resolve(dirname(path), backing)).catch((err: Error) => {
    throw new Error(`cannot create ${path} over ${backing}: ${err.message}`);
  });
  let bytes = backingBytes;
  if (sizeMiB !== undefined) {
    const minMiB = Math.ceil(backingBytes / MiB);
    // The guest's filesystem fills the image's disk and cannot shrink.
    if (sizeMiB < minMiB) {
      throw new Error(`${guestVariable("diskMiB")}=${sizeMiB}M (or the Cxfile's guest.disk_size) is smaller than the image's guest disk: the minimum is ${minMiB}M`);
    }
    bytes = sizeMiB * MiB;
  }
  await writeFile(path, qcow2Overlay(backing, bytes));
}
