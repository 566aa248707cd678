/**
 * debugfs command scripts that place files into an ext4 image without
 * mounting it. Two passes: `prepare` makes parent directories and removes
 * what will be replaced (its "already exists"/"not found" complaints are
 * expected), `apply` writes and must run without a single error.
 */
import type { Owner } from "../../common/step-requests.js";

export type GuestEntry =
  | { readonly kind: "dir"; readonly path: string; readonly mode: number; readonly owner?: Owner }
  | { readonly kind: "file"; readonly path: string; readonly mode: number; readonly source: string; readonly owner?: Owner }
  | { readonly kind: "symlink"; readonly path: string; readonly target: string };

export interface DebugfsScripts {
  readonly prepare: string;
  readonly apply: string;
}

function quote(s: string): string {
  if (/["\n\\]/.test(s)) throw new Error(`path not supported by the ext4 writer: ${JSON.stringify(s)}`);
  return `"${s}"`;
}

function ancestors(path: string): string[] {
  const parts = path.split("/").filter(Boolean);
  return parts.slice(0, -1).map((_, i) => "/" + parts.slice(0, i + 1).join("/"));
}

const ROOT: Owner = { uid: 0, gid: 0 };

export function debugfsScripts(entries: readonly GuestEntry[]): DebugfsScripts {
  const prepare: string[] = [];
  const apply: string[] = [];
  const made = new Set<string>();
  const mkdirs = (dir: string) => {
    if (made.has(dir)) return;
    made.add(dir);
    prepare.push(`mkdir ${quote(dir)}`);
  };
  const attrs = (path: string, typeBits: number, mode: number, owner: Owner = ROOT) => {
    apply.push(`sif ${quote(path)} mode 0${(typeBits | (mode & 0o7777)).toString(8)}`);
    apply.push(`sif ${quote(path)} uid ${owner.uid}`, `sif ${quote(path)} gid ${owner.gid}`);
  };
  for (const entry of entries) {
    ancestors(entry.path).forEach(mkdirs);
    switch (entry.kind) {
      case "dir":
        mkdirs(entry.path);
        attrs(entry.path, 0o040000, entry.mode, entry.owner);
        break;
      case "file":
        prepare.push(`rm ${quote(entry.path)}`);
        apply.push(`write ${quote(entry.source)} ${quote(entry.path)}`);
        attrs(entry.path, 0o100000, entry.mode, entry.owner);
        break;
      case "symlink":
        prepare.push(`rm ${quote(entry.path)}`);
        apply.push(`symlink ${quote(entry.path)} ${quote(entry.target)}`);
        break;
    }
  }
  return { prepare: prepare.join("\n") + "\n", apply: apply.join("\n") + "\n" };
}
