/** Byte searches through an OCI layout's blobs, layers decompressed, for what a build must not leave behind. */
import { createReadStream } from "node:fs";
import { open, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";

const GZIP = Buffer.from([0x1f, 0x8b]);

async function startsWith(file: string, magic: Buffer): Promise<boolean> {
  const head = Buffer.alloc(magic.length);
  const fh = await open(file);
  try {
    await fh.read(head, 0, magic.length, 0);
  } finally {
    await fh.close();
  }
  return head.equals(magic);
}

/** Which of `needles` occur in the file's bytes (gunzipped when it is gzip). */
async function found(file: string, needles: readonly Buffer[]): Promise<Set<number>> {
  const hits = new Set<number>();
  const keep = Math.max(...needles.map((n) => n.length)) - 1;
  let tail = Buffer.alloc(0);
  const scan = async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) {
      const window = Buffer.concat([tail, chunk]);
      needles.forEach((n, i) => {
        if (!hits.has(i) && window.includes(n)) hits.add(i);
      });
      tail = window.subarray(Math.max(0, window.length - keep));
    }
  };
  const source = createReadStream(file);
  if (await startsWith(file, GZIP)) await pipeline(source, createGunzip(), scan);
  else await pipeline(source, scan);
  return hits;
}

/** For each needle, the blobs (by digest) of the OCI layout in `dir` that hold it. */
export async function searchBlobs(dir: string, needles: readonly string[]): Promise<string[][]> {
  const blobs = join(dir, "blobs", "sha256");
  const where: string[][] = needles.map(() => []);
  const bytes = needles.map((n) => Buffer.from(n));
  for (const name of await readdir(blobs)) {
    for (const i of await found(join(blobs, name), bytes)) where[i].push(name);
  }
  return where;
}

/** The number of layer blobs the layout's manifests name: how much was searched. */
export async function layerCount(dir: string): Promise<number> {
  const blobs = join(dir, "blobs", "sha256");
  let layers = 0;
  for (const name of await readdir(blobs)) {
    const text = await readFile(join(blobs, name)).then((b) => (b[0] === 0x7b ? b.toString("utf8") : ""));
    if (!text) continue;
    try {
      const doc = JSON.parse(text) as { layers?: unknown[] };
      layers += doc.layers?.length ?? 0;
    } catch {
      // a layer that starts with '{' but is not JSON
    }
  }
  return layers;
}
