/** The language BuildKit's source infos name for a Cxfile (errors, source maps, warnings). */
export const CXFILE_LANGUAGE = "Cxfile";

/** A position in the Cxfile, 1-based like editors and BuildKit show them. */
export interface Pos {
  readonly line: number;
  readonly column: number;
}

/** Anything wrong with the user's Cxfile: where, what, and what would be valid. */
export class CxfileError extends Error {
  constructor(
    readonly file: string,
    readonly pos: Pos | undefined,
    readonly problem: string,
    readonly hint?: string,
    /** The Cxfile's text, so the error can be shown with its lines. */
    readonly sourceText?: string,
  ) {
    super(`${file}${pos ? `:${pos.line}:${pos.column}` : ""}: ${problem}${hint ? ` (${hint})` : ""}`);
    this.name = "CxfileError";
  }

  withSource(text: string): CxfileError {
    return new CxfileError(this.file, this.pos, this.problem, this.hint, text);
  }
}

function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return d[b.length];
}

/** "did you mean …" for a misspelt name, or the list of valid ones. */
export function suggest(word: string, valid: readonly string[]): string {
  const best = valid.map((v) => ({ v, d: distance(word.toLowerCase(), v.toLowerCase()) })).sort((x, y) => x.d - y.d)[0];
  if (best && best.d <= Math.max(2, Math.floor(word.length / 3))) return `did you mean '${best.v}'?`;
  return `valid: ${valid.join(", ")}`;
}
