/**
 * Where a subrequest's answer points into the Cxfile, in the JSON shape
 * BuildKit's subrequests use (pb.Location, Go's field names, index 0 left
 * out), and the description a key carries: the comment lines right above it,
 * as BuildKit's Dockerfile frontend reads them above ARG and FROM.
 */
import type { Pos } from "../cxfile/errors.js";

export interface JsonLocation {
  readonly ranges: readonly { readonly start: { readonly line: number }; readonly end: { readonly line: number } }[];
}

export const locationOf = (pos: Pos): JsonLocation => ({ ranges: [{ start: { line: pos.line }, end: { line: pos.line } }] });

const COMMENT = /^\s*#\s?(.*)$/;
const DIRECTIVE = /^#\s*syntax\s*=/i;

/** The comment block directly above `line` (1-based), joined into one line; "" when there is none. */
export function descriptionAbove(text: string, line: number): string {
  const lines = text.split(/\r?\n/);
  const block: string[] = [];
  for (let i = line - 2; i >= 0; i--) {
    const m = COMMENT.exec(lines[i]);
    if (!m || DIRECTIVE.test(lines[i].trim())) break;
    block.unshift(m[1].trim());
  }
  return block.filter(Boolean).join(" ");
}

/** Columns padded as Go's tabwriter pads them in BuildKit's own listings. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c] + 1))).join("").trimEnd()).join("\n") + "\n";
}
