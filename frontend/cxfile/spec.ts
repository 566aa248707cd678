import type { Pos } from "./errors.js";

/** One `copy` entry: a path in the build context placed at a guest path. */
export interface CopySpec {
  readonly src: string;
  readonly dest: string;
  /** Permission bits; the source file's when absent. */
  readonly mode?: number;
  readonly pos: Pos;
}

/** A Cxfile, checked for shape: every value has the type the language says. */
export interface CxfileSpec {
  readonly file: string;
  readonly base: { readonly name: string; readonly pos: Pos };
  readonly copy: readonly CopySpec[];
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly workdir?: string;
}

export const TOP_LEVEL_KEYS = ["base", "copy", "entrypoint", "cmd", "env", "workdir"] as const;
export const COPY_KEYS = ["src", "dest", "mode"] as const;
