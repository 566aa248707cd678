import { openSync, readSync, closeSync } from "node:fs";

export interface Extent {
  readonly offset: number;
  readonly length: number;
}

/**
 * Ranges of `changed` that differ from `original`, looked for only inside
 * `candidates` (the data extents of `changed`; holes read as zeros in both).
 * Compared in `chunk`-sized blocks and merged when adjacent.
 */
export function changedExtents(original: string, changed: string, candidates: readonly Extent[], chunk = 65536): Extent[] {
  const a = openSync(original, "r");
  const b = openSync(changed, "r");
  const bufA = Buffer.alloc(chunk);
  const bufB = Buffer.alloc(chunk);
  const out: Extent[] = [];
  try {
    for (const ext of candidates) {
      const start = Math.floor(ext.offset / chunk) * chunk;
      for (let off = start; off < ext.offset + ext.length; off += chunk) {
        const nb = readSync(b, bufB, 0, chunk, off);
        const na = readSync(a, bufA, 0, nb, off);
        if (na === nb && bufA.subarray(0, na).equals(bufB.subarray(0, nb))) continue;
        const last = out[out.length - 1];
        if (last && last.offset + last.length === off) out[out.length - 1] = { offset: last.offset, length: last.length + nb };
        else if (!last || last.offset + last.length < off) out.push({ offset: off, length: nb });
      }
    }
  } finally {
    closeSync(a);
    closeSync(b);
  }
  return out;
}
