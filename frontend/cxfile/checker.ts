import { posix } from "node:path";
import { formatMiB, parseSizeMiB } from "../../common/guest-env.js";
import { substitute, SubstitutionError } from "./args.js";
import { CxfileError, suggest, type Pos } from "./errors.js";
import { entry, type YNode } from "./yaml-positions.js";

const isMapping = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && Object.getPrototypeOf(v) === Object.prototype;

/** Longest string value accepted anywhere; a Cxfile is a recipe, not a payload. */
const MAX_STRING = 64 * 1024;

const DURATION_UNITS: Record<string, number> = { ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/**
 * Reads typed values out of YAML nodes, failing with a CxfileError that points
 * at the node. String reads substitute `${ARG}` unless told not to, following
 * Dockerfile: commands are left for the guest's shell.
 */
export class Checker {
  constructor(
    readonly file: string,
    readonly args: ReadonlyMap<string, string>,
  ) {}

  fail(pos: Pos | undefined, problem: string, hint?: string): never {
    throw new CxfileError(this.file, pos, problem, hint);
  }

  mapping(node: YNode, what: string): Record<string, unknown> {
    if (!isMapping(node.value)) this.fail(node.pos, `${what} must be a mapping of keys to values`);
    return node.value;
  }

  list(node: YNode, what: string, example: string): YNode[] {
    if (!Array.isArray(node.value)) this.fail(node.pos, `${what} must be a list`, `for example ${example}`);
    // A lone "-" is a null item, which YAML keeps and the position tree does not.
    const empty = (node.value as unknown[]).indexOf(null);
    if (empty >= 0) this.fail(node.pos, `${what}[${empty}] is empty`, "remove the lone '-' or give it a value");
    return node.children;
  }

  /** The node's entries, each key checked against `valid`. */
  entries(node: YNode, valid: readonly string[] | undefined, where: string): { name: string; key: YNode; value: YNode }[] {
    const m = this.mapping(node, where);
    return Object.keys(m).map((name) => {
      const e = entry(node, name);
      if (!e) this.fail(node.pos, `${where}: key '${name}' could not be read`, "write keys out in full as plain strings; YAML complex keys are not supported");
      if (valid && !valid.includes(name)) this.fail(e.key.pos, `unknown key '${name}' in ${where}`, suggest(name, valid));
      return { name, ...e };
    });
  }

  string(node: YNode, what: string, opts: { substitute?: boolean; allowEmpty?: boolean } = {}): string {
    const v = node.value;
    let text: string;
    if (typeof v === "string") text = v;
    else if (typeof v === "number" || typeof v === "boolean") text = String(v);
    else this.fail(node.pos, `${what} must be a string${Array.isArray(v) ? ", not a list" : isMapping(v) ? ", not a mapping" : ""}`);
    if (text.length > MAX_STRING) this.fail(node.pos, `${what} is ${text.length} characters long; the limit is ${MAX_STRING}`);
    if (text.includes("\0")) this.fail(node.pos, `${what} contains a NUL character`);
    if (opts.substitute !== false) {
      try {
        text = substitute(text, this.args);
      } catch (err) {
        if (err instanceof SubstitutionError) this.fail(node.pos, `${what}: ${err.message}`);
        throw err;
      }
    }
    if (!text && !opts.allowEmpty) this.fail(node.pos, `${what} must not be empty`);
    return text;
  }

  boolean(node: YNode, what: string): boolean {
    if (typeof node.value !== "boolean") this.fail(node.pos, `${what} must be true or false`);
    return node.value;
  }

  integer(node: YNode, what: string, min: number, max: number): number {
    const v = typeof node.value === "string" ? this.string(node, what) : node.value;
    const n = typeof v === "string" && /^\d+$/.test(v.trim()) ? Number(v) : v;
    if (typeof n !== "number" || !Number.isInteger(n)) this.fail(node.pos, `${what} must be a whole number`);
    if (n < min || n > max) this.fail(node.pos, `${what} is ${n}; it must be between ${min} and ${max}`);
    return n;
  }

  /** A size such as 512M or 2G, in MiB. */
  sizeMiB(node: YNode, what: string, minMiB: number, maxMiB: number): number {
    const text = this.string(node, what);
    const mib = parseSizeMiB(text);
    if (mib === undefined) this.fail(node.pos, `${what} '${text}' is not a size`, "write it as 512M or 2G");
    if (mib < minMiB || mib > maxMiB) this.fail(node.pos, `${what} ${text} must be between ${formatMiB(minMiB)} and ${formatMiB(maxMiB)}`);
    return mib;
  }

  /** A duration such as 30s, 1m30s or 500ms, in nanoseconds. */
  durationNs(node: YNode, what: string): number {
    const text = this.string(node, what).trim();
    const parts = [...text.matchAll(/(\d+)(ms|s|m|h)/g)];
    if (!parts.length || parts.map((p) => p[0]).join("") !== text) {
      this.fail(node.pos, `${what} '${text}' is not a duration`, "write it as 30s, 1m30s or 500ms");
    }
    const ns = parts.reduce((sum, p) => sum + Number(p[1]) * DURATION_UNITS[p[2]], 0);
    if (ns > 24 * 3600e9) this.fail(node.pos, `${what} ${text} is longer than a day`);
    return ns;
  }

  guestPath(node: YNode, what: string): string {
    const path = this.string(node, what);
    if (!path.startsWith("/")) this.fail(node.pos, `${what} '${path}' must be an absolute guest path`, `for example /opt/app/${path}`);
    if (/[\n"\\]/.test(path)) this.fail(node.pos, `${what} contains a character that guest paths cannot hold (newline, " or \\)`);
    if (path.split("/").includes("..")) this.fail(node.pos, `${what} '${path}' must not contain '..'`);
    return path;
  }

  /** A path inside the build context, normalised; glob characters allowed when `glob`. */
  contextPath(node: YNode, what: string, glob: boolean): string {
    const path = this.string(node, what);
    const clean = posix.normalize(path).replace(/\/+$/, "");
    if (path.startsWith("/") || clean === ".." || clean.startsWith("../")) {
      this.fail(node.pos, `${what} '${path}' must be a path inside the build context`, "relative, without ..");
    }
    if (/[\n"\\]/.test(path)) this.fail(node.pos, `${what} '${path}' contains a character that is not supported in context paths (newline, " or \\)`);
    if (!glob && /[*?[]/.test(path)) this.fail(node.pos, `${what} '${path}' must not contain glob characters`);
    return clean === "" ? "." : clean;
  }

  /** A command: a list of strings (exec form) or one string (run by /bin/sh -c). Never substituted. */
  command(node: YNode, what: string): string[] {
    if (typeof node.value === "string") return ["/bin/sh", "-c", this.string(node, what, { substitute: false })];
    if (!Array.isArray(node.value)) this.fail(node.pos, `${what} must be a list of strings or a shell command string`);
    if (node.children.length === 0) this.fail(node.pos, `${what} must not be an empty list`);
    return node.children.map((child, i) => this.string(child, `${what}[${i}]`, { substitute: false, allowEmpty: true }));
  }

  /** A list of strings, or one string standing for a list of one. */
  strings(node: YNode, what: string, read: (n: YNode, what: string) => string): string[] {
    if (node.value === null) return [];
    if (!Array.isArray(node.value)) return [read(node, what)];
    return node.children.map((child, i) => read(child, `${what}[${i}]`));
  }

  /** A mapping of names to strings (env, labels, args). */
  stringMap(node: YNode, what: string, checkName: (name: string, key: YNode) => void): Record<string, string> {
    const out: Record<string, string> = {};
    if (node.value === null) return out;
    for (const e of this.entries(node, undefined, what)) {
      checkName(e.name, e.key);
      out[e.name] = e.value.value === null ? "" : this.string(e.value, `${what}.${e.name}`, { allowEmpty: true });
    }
    return out;
  }
}
