/**
 * Cxfile copy globs (`*`, `?`, `[...]`, each within one path segment),
 * expanded over any tree that can list a directory: the build context as
 * the populate step sees it, or through BuildKit's ReadDir in the frontend.
 */
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

/** Lists the names in a directory (relative, "" for the root); none for a directory that is not there. */
export type ListDir = (dir: string) => Promise<string[]>;

/** Paths matching `pattern` (relative, '/'-separated), sorted; segments without glob characters are taken as they are. */
export async function expandGlob(list: ListDir, pattern: string): Promise<string[]> {
  let matches = [""];
  for (const segment of pattern.split("/").filter(Boolean)) {
    const next: string[] = [];
    for (const dir of matches) {
      if (!hasGlob(segment)) {
        next.push(dir ? `${dir}/${segment}` : segment);
        continue;
      }
      const re = segmentRegex(segment);
      const names = await list(dir);
      for (const name of names.sort()) if (re.test(name)) next.push(dir ? `${dir}/${name}` : name);
    }
    matches = next;
  }
  return matches;
}
