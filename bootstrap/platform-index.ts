/**
 * One local image from one image per platform: reads what `docker save`
 * wrote for them (an OCI layout) on stdin and writes, for `docker load`,
 * the same blobs under a new index that lists each platform's manifest and
 * is named IMAGE (repository:tag). The archive is deterministic (common/tar.ts).
 *
 *   docker save PART… | node dist/bootstrap/platform-index.js IMAGE OUT.tar
 */
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { extractTar, packTar, treeEntries, type TarEntry } from "../common/tar.js";
import { normalizeImageRef } from "../frontend/plan/image-ref.js";

const INDEX = "application/vnd.oci.image.index.v1+json";

interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly platform?: { readonly architecture: string; readonly os: string; readonly variant?: string };
}

async function main(image: string, out: string): Promise<void> {
  // The full name containerd records (docker.io/library/… for short names), and the tag docker load names it by.
  const name = normalizeImageRef(image);
  const tag = name.slice(name.lastIndexOf(":") + 1);
  // Beside OUT (build-platforms.sh's work directory under /var/tmp), not in a /tmp that may be RAM: it holds every part's layers.
  const layout = await mkdtemp(join(dirname(out), "layout-"));
  try {
    await extractTar(process.stdin, layout);
    const blob = (digest: string) => join(layout, "blobs", ...digest.split(":"));
    const json = async <T>(digest: string) => JSON.parse(await readFile(blob(digest), "utf8")) as T;
    const saved = JSON.parse(await readFile(join(layout, "index.json"), "utf8")) as { manifests: Descriptor[] };
    const manifests: Descriptor[] = [];
    for (const m of saved.manifests) {
      const manifest = await json<{ config: { digest: string } }>(m.digest);
      const config = await json<{ architecture: string; os: string; variant?: string }>(manifest.config.digest);
      const platform = { architecture: config.architecture, os: config.os, ...(config.variant ? { variant: config.variant } : {}) };
      manifests.push({ mediaType: m.mediaType, digest: m.digest, size: m.size, platform });
    }
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests }));
    const digest = `sha256:${createHash("sha256").update(index).digest("hex")}`;
    await writeFile(blob(digest), index);
    const top = {
      schemaVersion: 2,
      mediaType: INDEX,
      manifests: [{ mediaType: INDEX, digest, size: index.length, annotations: { "io.containerd.image.name": name, "org.opencontainers.image.ref.name": tag } }],
    };
    // Without the Docker archive manifest (manifest.json), docker load names the image from index.json.
    const entries: TarEntry[] = [
      { name: "oci-layout", kind: "data", data: await readFile(join(layout, "oci-layout")) },
      { name: "index.json", kind: "data", data: Buffer.from(JSON.stringify(top)) },
      ...(await treeEntries(join(layout, "blobs"), "blobs")),
    ];
    await pipeline(packTar(entries, new Date(0)), createWriteStream(out));
  } finally {
    await rm(layout, { recursive: true, force: true });
  }
}

const [image, out] = process.argv.slice(2);
if (!image?.includes(":") || !out) {
  process.stderr.write("usage: docker save PART… | node dist/bootstrap/platform-index.js REPOSITORY:TAG OUT.tar\n");
  process.exit(2);
}
main(image, out).catch((err: unknown) => {
  process.stderr.write(`platform-index: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
