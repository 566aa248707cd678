import { readdir } from "node:fs/promises";
import { join } from "node:path";

export const hasGlob = (path: string) => /[*?[]/.test(path);

/** A glob segment (*, ?, [...]) as a regular expression; `*` never matches '/'. */
function segmentRegex(segment: string): RegExp {
  let re = "";
  for (let i = 0; i < segment.length; i++) {
    const ch = segment[i];
    if (ch === "*") re += "[^/]*";
    else if (ch === "?") re += "[^/]";
    else if (ch === "[") {
      const close = segment.indexOf("]", i + 1);
      if (close < 0) throw new Error(`unclosed '[' in pattern '${segment}'`);
      const body = segment.slice(i + 1, close).replace(/^!/, "^").replace(/\\/g, "\\\\");
      re += `[${body}]`;
      i = close;
    } else re += ch.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/** Paths under `root` matching `pattern` (relative, '/'-separated), sorted. */
export async function expandGlob(root: string, pattern: string): Promise<string[]> {
  let matches = [""];
  for (const segment of pattern.split("/").filter(Boolean)) {
    const next: string[] = [];
    for (const dir of matches) {
      if (!hasGlob(segment)) {
        next.push(dir ? `${dir}/${segment}` : segment);
        continue;
      }
      const re = segmentRegex(segment);
      const names = await readdir(join(root, dir)).catch(() => [] as string[]);
      for (const name of names.sort()) if (re.test(name)) next.push(dir ? `${dir}/${name}` : name);
    }
    matches = next;
  }
  return matches;
}
