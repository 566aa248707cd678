import yaml from "js-yaml";
import { Checker } from "./checker.js";
import { CxfileError, type Pos } from "./errors.js";
import { parseBase } from "./parse-base.js";
import { parseGuest } from "./parse-guest.js";
import { parseStage } from "./parse-stage.js";
import { AGENT_KEYS, APP_KEYS, NO_GUEST_SPEC, TOP_LEVEL_KEYS, type ArgSpec, type CxfileSpec, type TargetSpec } from "./spec.js";
import { loadWithPositions, type YNode } from "./yaml-positions.js";

/** A Cxfile longer than this is refused before YAML parsing: it cannot be a recipe. */
const MAX_CXFILE_BYTES = 1024 * 1024;
const ARG_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const TARGET_NAME = /^[a-z0-9][a-z0-9_.-]*$/;

export interface ParseOptions {
  /** --build-arg values; only names declared under args: are used. */
  readonly buildArgs?: ReadonlyMap<string, string>;
}

function loadYaml(text: string, file: string): YNode {
  if (text.length > MAX_CXFILE_BYTES) throw new CxfileError(file, undefined, `the Cxfile is ${text.length} bytes; the limit is ${MAX_CXFILE_BYTES}`);
  try {
    return loadWithPositions(text);
  } catch (err) {
    if (err instanceof yaml.YAMLException) {
      const mark = err.mark;
      throw new CxfileError(file, mark ? { line: mark.line + 1, column: mark.column + 1 } : undefined, `invalid YAML: ${err.reason}`);
    }
    throw err;
  }
}

function parseArgs(file: string, node: YNode | undefined, given: ReadonlyMap<string, string>): ArgSpec[] {
  if (!node || node.value === null) return [];
  const literal = new Checker(file, new Map());
  const positions = new Map<string, Pos>();
  const defaults = literal.stringMap(node, "args", (name, key) => {
    if (!ARG_NAME.test(name)) literal.fail(key.pos, `arg name '${name}' is not a valid name`, "letters, digits and _, not starting with a digit");
    positions.set(name, key.pos);
  });
  return Object.entries(defaults).map(([name, value]) => ({ name, value: given.get(name) ?? value, pos: positions.get(name)! }));
}

/** Cxfile text to a CxfileSpec, or a CxfileError saying where and why not. */
export function parseCxfile(text: string, file: string, opts: ParseOptions = {}): CxfileSpec {
  const root = loadYaml(text, file);
  const pre = new Checker(file, new Map());
  if (root.value === undefined || root.value === null) pre.fail({ line: 1, column: 1 }, "the Cxfile is empty", "it needs at least 'base'");
  const topEntries = pre.entries(root, TOP_LEVEL_KEYS, "the Cxfile");
  const top = new Map(topEntries.map((e) => [e.name, e.value]));

  const args = parseArgs(file, top.get("args"), opts.buildArgs ?? new Map());
  const c = new Checker(file, new Map(args.map((a) => [a.name, a.value])));
  const baseNode = top.get("base") ?? c.fail(root.pos, "missing 'base'", "name the OS base, for example base: minimal/aarch64");
  const guestNode = top.get("guest");

  const base = parseBase(c, baseNode);
  const agentless = base.kind === "disk" && base.boot.kind !== "agent" ? base.boot.kind : undefined;
  // Refused where written: without the agent nothing in the guest would act on them.
  const checkAgentKeys = (entries: readonly { name: string; key: YNode }[], prefix: string) => {
    const found = agentless && entries.find((e) => (AGENT_KEYS as readonly string[]).includes(e.name));
    if (found) {
      c.fail(found.key.pos, `${prefix}${found.name} needs the Containerx agent in the guest, and base.boot: ${agentless} boots without it`,
        "put files and settings into the disk image itself; expose, labels, stop_timeout and guest still apply");
    }
  };
  checkAgentKeys(topEntries, "");

  const targets: TargetSpec[] = [];
  const targetsNode = top.get("targets");
  if (targetsNode && targetsNode.value !== null) {
    for (const t of c.entries(targetsNode, undefined, "targets")) {
      if (!TARGET_NAME.test(t.name)) c.fail(t.key.pos, `target name '${t.name}' is not valid`, "lower-case letters, digits, '.', '_' and '-'");
      const entries = t.value.value === null ? [] : c.entries(t.value, APP_KEYS, `target '${t.name}'`);
      checkAgentKeys(entries, `targets.${t.name}.`);
      const fields = new Map(entries.map((e) => [e.name, e.value]));
      targets.push({ name: t.name, pos: t.key.pos, ...parseStage(c, fields, `targets.${t.name}.`) });
    }
  }
  return {
    file,
    args,
    base,
    guest: guestNode ? parseGuest(c, guestNode) : NO_GUEST_SPEC,
    stage: parseStage(c, top, ""),
    targets,
  };
}
