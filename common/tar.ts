/**
 * Tar streams in typed code, through tar-stream: archives the project makes
 * are deterministic (entries in a fixed order, one time stamp, owned by
 * root, no user names) without GNU tar's flags, and archives it reads
 * (docker save) are unpacked without a tar binary's quirks.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { lstat, mkdir, readdir } from "node:fs/promises";
import { dirname, join, posix, resolve, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import tar from "tar-stream";

/** One entry of an archive: a directory, a file from disk, or bytes. */
export type TarEntry =
  | { readonly name: string; readonly kind: "dir"; readonly mode?: number }
  | { readonly name: string; readonly kind: "file"; readonly path: string; readonly mode?: number }
  | { readonly name: string; readonly kind: "data"; readonly data: Buffer; readonly mode?: number };

/** A directory tree as entries under `prefix`, files and directories sorted by name (symlinks and others refused). */
export async function treeEntries(dir: string, prefix: string): Promise<TarEntry[]> {
  const entries: TarEntry[] = [{ name: prefix, kind: "dir", mode: 0o755 }];
  for (const name of (await readdir(dir)).sort()) {
    const path = join(dir, name);
    const st = await lstat(path);
    const inside = posix.join(prefix, name);
    if (st.isDirectory()) entries.push(...(await treeEntries(path, inside)));
    else if (st.isFile()) entries.push({ name: inside, kind: "file", path, mode: st.mode & 0o777 });
    else throw new Error(`${path}: only files and directories go into an archive`);
  }
  return entries;
}

/** The entries as a tar stream, in the order given, every entry root's and dated `mtime`. */
export function packTar(entries: readonly TarEntry[], mtime: Date): Readable {
  const pack = tar.pack();
  const common = { mtime, uid: 0, gid: 0, uname: "", gname: "" };
  (async () => {
    for (const e of entries) {
      if (e.kind === "dir") {
        pack.entry({ ...common, name: e.name.endsWith("/") ? e.name : `${e.name}/`, type: "directory", mode: e.mode ?? 0o755 });
      } else if (e.kind === "data") {
        pack.entry({ ...common, name: e.name, type: "file", mode: e.mode ?? 0o644 }, e.data);
      } else {
        const { size } = await lstat(e.path);
        const sink = pack.entry({ ...common, name: e.name, type: "file", mode: e.mode ?? 0o644, size });
        await pipeline(createReadStream(e.path), sink);
      }
    }
    pack.finalize();
  })().catch((err: Error) => pack.destroy(err));
  // tar-stream's streams are streamx's; a Node stream is what execa and pipeline take everywhere.
  return Readable.from(pack);
}

/** Unpacks files and directories of a tar stream under `dir`; a name that would land outside it is refused. */
export async function extractTar(stream: NodeJS.ReadableStream, dir: string): Promise<void> {
  const root = resolve(dir);
  const extract = tar.extract();
  const done = (async () => {
    for await (const entry of extract) {
      const target = resolve(root, entry.header.name);
      if (target !== root && !target.startsWith(root + sep)) throw new Error(`${entry.header.name}: outside the archive's directory`);
      if (entry.header.type === "directory") {
        await mkdir(target, { recursive: true });
        entry.resume();
      } else if (entry.header.type === "file" || entry.header.type === "contiguous-file") {
        await mkdir(dirname(target), { recursive: true });
        await pipeline(entry, createWriteStream(target, { mode: entry.header.mode ?? 0o644 }));
      } else {
        entry.resume();
      }
    }
  })();
  await Promise.all([pipeline(stream, extract), done]);
}
