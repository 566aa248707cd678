/**
 * cx-populate: the build step that creates an app overlay. It runs inside
 * BuildKit without privileges: no mount, no loop device, no VM.
 *
 *   1. the base disk is expanded to a sparse raw image, copied once
 *   2. debugfs writes the app's files into the copy
 *   3. only the 64 KiB clusters that changed are written, with qemu-io, into
 *      a qcow2 overlay whose backing file is the base (relative path)
 *   4. qemu-img compare proves overlay+base equals the edited copy
 */
import { mkdtemp, readdir, lstat, readlink, rm, writeFile } from "node:fs/promises";
import { openSync, readSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, posix } from "node:path";
import { e2fsprogsClock } from "../../common/e2fsprogs-clock.js";
import { run, runCapture } from "../../common/run.js";
import { changedExtents, type Extent } from "./block-diff.js";
import type { Owner, PopulateCopy, PopulateRequest } from "../../common/step-requests.js";
import { debugfsScripts, type GuestEntry } from "./debugfs-script.js";
import { expandGlob, hasGlob, type ListDir } from "../../common/glob.js";

const say = (msg: string) => process.stdout.write(`${msg}\n`);

interface CopyAttrs {
  readonly mode?: number;
  readonly owner?: Owner;
}

async function walk(source: string, dest: string, attrs: CopyAttrs, entries: GuestEntry[]): Promise<void> {
  const st = await lstat(source);
  const owner = attrs.owner ? { owner: attrs.owner } : {};
  if (st.isSymbolicLink()) {
    entries.push({ kind: "symlink", path: dest, target: await readlink(source) });
  } else if (st.isDirectory()) {
    if (dest !== "/") entries.push({ kind: "dir", path: dest, mode: st.mode & 0o7777, ...owner });
    await walkContents(source, dest, attrs, entries);
  } else if (st.isFile()) {
    entries.push({ kind: "file", path: dest, mode: attrs.mode ?? st.mode & 0o7777, source, ...owner });
  } else {
    throw new Error(`${source}: only files, directories and symlinks can be copied`);
  }
}

async function walkContents(dir: string, dest: string, attrs: CopyAttrs, entries: GuestEntry[]): Promise<void> {
  for (const name of (await readdir(dir)).sort()) await walk(join(dir, name), posix.join(dest, name), attrs, entries);
}

/** A directory lister for the context as this step has it mounted. */
const listUnder = (root: string): ListDir => (dir) => readdir(join(root, dir)).catch(() => []);

/** One copy source (no glob): like Dockerfile COPY, a directory's contents go into dest. */
async function copyOne(contextRoot: string, source: string, dest: string, attrs: CopyAttrs, entries: GuestEntry[]): Promise<void> {
  const st = await lstat(source).catch(() => {
    throw new Error(`${posix.relative(contextRoot, source)}: not found where the copy takes it from (or excluded by .dockerignore)`);
  });
  if (st.isDirectory()) await walkContents(source, dest, attrs, entries);
  else await walk(source, dest.endsWith("/") ? posix.join(dest, basename(source)) : dest, attrs, entries);
}

export async function guestEntries(copies: readonly PopulateCopy[], contextRoot: string): Promise<GuestEntry[]> {
  const entries: GuestEntry[] = [];
  for (const copy of copies) {
    const root = copy.root ?? contextRoot;
    if (!hasGlob(copy.source)) {
      await copyOne(root, copy.source, copy.dest, copy, entries);
      continue;
    }
    const pattern = posix.relative(root, copy.source);
    const matches = await expandGlob(listUnder(root), pattern);
    if (!matches.length) throw new Error(`${pattern}: no file in its source matches`);
    for (const match of matches) await copyOne(root, join(root, match), copy.dest, copy, entries);
  }
  return entries;
}

/**
 * Runs a debugfs script and returns its complaints. debugfs exits 0 even when
 * a command fails, so its stderr (less the banner) is the verdict.
 */
async function debugfs(image: string, script: string, scriptPath: string, env: Record<string, string>): Promise<string[]> {
  await writeFile(scriptPath, script);
  const res = await runCapture("debugfs", ["-w", "-f", scriptPath, image], { env });
  const complaints = res.stderr.split("\n").filter((l) => l && !/^debugfs \d/.test(l));
  return res.exitCode === 0 ? complaints : [...complaints, `debugfs exited with code ${res.exitCode}`];
}

async function dataExtents(raw: string): Promise<Extent[]> {
  const map = JSON.parse(await run("qemu-img", ["map", "-f", "raw", "--output=json", raw])) as { start: number; length: number; data: boolean }[];
  return map.filter((m) => m.data).map((m) => ({ offset: m.start, length: m.length }));
}

async function writeExtents(overlay: string, raw: string, extents: readonly Extent[], work: string): Promise<void> {
  const fd = openSync(raw, "r");
  const commands: string[] = [];
  try {
    for (const [i, ext] of extents.entries()) {
      const buf = Buffer.alloc(ext.length);
      readSync(fd, buf, 0, ext.length, ext.offset);
      const chunk = join(work, `chunk-${i}`);
      await writeFile(chunk, buf);
      commands.push("-c", `write -q -s ${chunk} ${ext.offset} ${ext.length}`);
    }
  } finally {
    closeSync(fd);
  }
  for (let i = 0; i < commands.length; i += 200) {
    await run("qemu-io", ["-f", "qcow2", overlay, ...commands.slice(i, i + 200)]);
  }
}

export async function populate(req: PopulateRequest): Promise<void> {
  const env = e2fsprogsClock(req.sourceDateEpoch);
  const work = await mkdtemp(join(tmpdir(), "cx-populate-"));
  try {
    const baseRaw = join(work, "base.raw");
    const raw = join(work, "disk.raw");
    await run("qemu-img", ["convert", "-f", "qcow2", "-O", "raw", req.base, baseRaw]);
    await run("cp", ["--sparse=always", baseRaw, raw]);
    // A disk a guest left unclean would have its journal replayed over our
    // edits at boot: replay it first, so the overlay carries both.
    const fsck = await runCapture("e2fsck", ["-fp", raw], { env });
    if (fsck.exitCode >= 4) throw new Error(`the guest disk has errors e2fsck cannot fix:\n${fsck.stdout}${fsck.stderr}`);

    const entries = await guestEntries(req.copies, req.context);
    say(`writing ${entries.length} entries into the guest filesystem`);
    const scripts = debugfsScripts(entries);
    // The prepare pass complains about directories that exist and files that
    // do not; both are expected. The apply pass must be silent.
    await debugfs(raw, scripts.prepare, join(work, "prepare.debugfs"), env);
    const complaints = await debugfs(raw, scripts.apply, join(work, "apply.debugfs"), env);
    if (complaints.length) throw new Error(`writing files into the guest disk failed:\n${complaints.join("\n")}`);
    await run("e2fsck", ["-fn", raw], { env });

    const changed = changedExtents(baseRaw, raw, await dataExtents(raw));
    const bytes = changed.reduce((n, e) => n + e.length, 0);
    say(`overlay: ${changed.length} changed ranges, ${(bytes / 1024).toFixed(0)} KiB`);
    await run("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", req.backing, basename(req.out)], { cwd: dirname(req.out) });
    await writeExtents(req.out, raw, changed, work);
    await run("qemu-img", ["compare", "-q", "-f", "raw", "-F", "qcow2", raw, req.out]);
    say(`overlay verified against the edited disk`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
