import yaml from "js-yaml";
import { posix } from "node:path";
import { CxfileError, suggest, type Pos } from "./errors.js";
import { COPY_KEYS, TOP_LEVEL_KEYS, type CopySpec, type CxfileSpec } from "./spec.js";
import { entry, loadWithPositions, type YNode } from "./yaml-positions.js";

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

class Checker {
  constructor(readonly file: string) {}

  fail(pos: Pos | undefined, problem: string, hint?: string): never {
    throw new CxfileError(this.file, pos, problem, hint);
  }

  mapping(node: YNode, what: string): Record<string, unknown> {
    if (!isMapping(node.value)) this.fail(node.pos, `${what} must be a mapping of keys to values`);
    return node.value;
  }

  knownKeys(node: YNode, valid: readonly string[], where: string): void {
    for (const key of Object.keys(this.mapping(node, where))) {
      if (!valid.includes(key)) this.fail(entry(node, key)?.key.pos ?? node.pos, `unknown key '${key}' in ${where}`, suggest(key, valid));
    }
  }

  string(node: YNode, what: string): string {
    const v = node.value;
    if (typeof v === "string" && v.length > 0) return v;
    if (typeof v === "number" || typeof v === "boolean") return String(v);
    this.fail(node.pos, `${what} must be a non-empty string`);
  }

  guestPath(node: YNode, what: string): string {
    const path = this.string(node, what);
    if (!path.startsWith("/")) this.fail(node.pos, `${what} '${path}' must be an absolute guest path`, `for example /opt/app/${path}`);
    if (/[\0\n"\\]/.test(path)) this.fail(node.pos, `${what} contains a character that guest paths cannot hold (NUL, newline, " or \\)`);
    return path;
  }

  contextPath(node: YNode, what: string): string {
    const path = this.string(node, what);
    const clean = posix.normalize(path).replace(/\/+$/, "");
    if (path.startsWith("/") || clean === ".." || clean.startsWith("../")) {
      this.fail(node.pos, `${what} '${path}' must be a path inside the build context`, "relative, without ..");
    }
    if (/[\0\n"\\*?[]/.test(path)) this.fail(node.pos, `${what} '${path}' contains a character that is not supported in context paths`);
    return clean === "" ? "." : clean;
  }

  /** A command: a list of strings (exec form) or one string (run by /bin/sh -c). */
  command(node: YNode, what: string): string[] {
    if (typeof node.value === "string") return ["/bin/sh", "-c", node.value];
    if (!Array.isArray(node.value)) this.fail(node.pos, `${what} must be a list of strings or a shell command string`);
    return node.children.map((child, i) => this.string(child, `${what}[${i}]`));
  }

  mode(node: YNode): number {
    const v = node.value;
    if (typeof v !== "string" || !/^0?[0-7]{3,4}$/.test(v)) {
      this.fail(node.pos, `mode must be an octal string such as "0755"`, typeof v === "number" ? `quote it: mode: "0${v}"` : undefined);
    }
    return parseInt(v, 8);
  }
}

function parseCopy(c: Checker, item: YNode, index: number): CopySpec {
  const where = `copy[${index}]`;
  const m = c.mapping(item, `${where} (either 'src: dest' or a mapping with src, dest and mode)`);
  const keys = Object.keys(m);
  if (keys.length === 1 && !COPY_KEYS.includes(keys[0] as (typeof COPY_KEYS)[number])) {
    const e = entry(item, keys[0])!;
    return { src: c.contextPath(e.key, `${where} source`), dest: c.guestPath(e.value, `${where} destination`), pos: item.pos };
  }
  c.knownKeys(item, COPY_KEYS, where);
  const src = entry(item, "src");
  const dest = entry(item, "dest");
  if (!src) c.fail(item.pos, `${where} has no 'src'`);
  if (!dest) c.fail(item.pos, `${where} has no 'dest'`);
  const mode = entry(item, "mode");
  return {
    src: c.contextPath(src.value, `${where}.src`),
    dest: c.guestPath(dest.value, `${where}.dest`),
    ...(mode ? { mode: c.mode(mode.value) } : {}),
    pos: item.pos,
  };
}

/** Cxfile text to a CxfileSpec, or a CxfileError saying where and why not. */
export function parseCxfile(text: string, file: string): CxfileSpec {
  const c: Checker = new Checker(file);
  let root: YNode;
  try {
    root = loadWithPositions(text);
  } catch (err) {
    if (err instanceof yaml.YAMLException) {
      const mark = err.mark;
      c.fail(mark ? { line: mark.line + 1, column: mark.column + 1 } : undefined, `invalid YAML: ${err.reason}`);
    }
    throw err;
  }
  if (root.value === undefined || root.value === null) c.fail({ line: 1, column: 1 }, "the Cxfile is empty", "it needs at least 'base'");
  c.knownKeys(root, TOP_LEVEL_KEYS, "the Cxfile");

  const base = entry(root, "base");
  if (!base) c.fail(root.pos, "missing 'base'", "name the OS base, for example base: minimal/aarch64");
  const copyNode = entry(root, "copy");
  let copy: CopySpec[] = [];
  if (copyNode && copyNode.value.value !== null) {
    if (!Array.isArray(copyNode.value.value)) c.fail(copyNode.value.pos, "copy must be a list", "- src: dest");
    copy = copyNode.value.children.map((item, i) => parseCopy(c, item, i));
  }
  const env: Record<string, string> = {};
  const envNode = entry(root, "env");
  if (envNode && envNode.value.value !== null) {
    const m = c.mapping(envNode.value, "env");
    for (const name of Object.keys(m)) {
      const e = entry(envNode.value, name)!;
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) c.fail(e.key.pos, `env name '${name}' is not a valid variable name`);
      if (name.startsWith("CX_")) c.fail(e.key.pos, `env name '${name}' is reserved for the Containerx runtime`);
      env[name] = e.value.value === null ? "" : c.string(e.value, `env.${name}`);
    }
  }
  const entrypoint = entry(root, "entrypoint");
  const cmd = entry(root, "cmd");
  const workdir = entry(root, "workdir");
  return {
    file,
    base: { name: c.string(base.value, "base"), pos: base.value.pos },
    copy,
    ...(entrypoint ? { entrypoint: c.command(entrypoint.value, "entrypoint") } : {}),
    ...(cmd ? { cmd: c.command(cmd.value, "cmd") } : {}),
    env,
    ...(workdir ? { workdir: c.guestPath(workdir.value, "workdir") } : {}),
  };
}
