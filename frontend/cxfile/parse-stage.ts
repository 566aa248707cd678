import { parsePort } from "../../common/guest-env.js";
import type { Checker } from "./checker.js";
import {
  COPY_KEYS, HEALTHCHECK_KEYS, RUN_KEYS, SECRET_KEYS,
  type AppConfigSpec, type CopySpec, type HealthcheckSpec, type PortSpec, type RunSpec, type SecretUse, type StageSpec,
} from "./spec.js";
import { entry, type YNode } from "./yaml-positions.js";

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** A --build-context name, or an image reference (registry/path:tag@digest). */
const CONTEXT_NAME = /^[A-Za-z0-9][A-Za-z0-9._\-/:@]*$/;
/** Signals a guest app can be stopped with, by name (with or without SIG) or number. */
const SIGNALS = ["HUP", "INT", "QUIT", "KILL", "USR1", "USR2", "TERM", "PWR", "WINCH", "STOP"];

function parseOwner(c: Checker, node: YNode, what: string): { uid: number; gid: number } {
  const text = c.string(node, what);
  const m = /^(\d+)(?::(\d+))?$/.exec(text);
  if (!m) c.fail(node.pos, `${what} '${text}' must be numeric uid or uid:gid`, "names cannot be resolved before the guest runs; write 1000:1000");
  const uid = Number(m[1]);
  const gid = m[2] === undefined ? uid : Number(m[2]);
  if (uid > 0xfffffffe || gid > 0xfffffffe) c.fail(node.pos, `${what} '${text}' is out of range`);
  return { uid, gid };
}

function parseMode(c: Checker, node: YNode, what: string): number {
  const v = node.value;
  if (typeof v !== "string" || !/^0?[0-7]{3,4}$/.test(v)) {
    c.fail(node.pos, `${what} must be an octal string such as "0755"`, typeof v === "number" ? `quote it: mode: "0${v}"` : undefined);
  }
  return parseInt(v, 8);
}

function parseCopy(c: Checker, item: YNode, where: string): CopySpec {
  const m = c.mapping(item, `${where} (either 'src: dest' or a mapping with src, dest, mode and owner)`);
  const keys = Object.keys(m);
  if (keys.length === 1 && !COPY_KEYS.includes(keys[0] as (typeof COPY_KEYS)[number])) {
    const e = entry(item, keys[0])!;
    return { src: c.contextPath(e.key, `${where} source`, true), dest: c.guestPath(e.value, `${where} destination`), pos: item.pos };
  }
  const fields = new Map(c.entries(item, COPY_KEYS, where).map((e) => [e.name, e.value]));
  const src = fields.get("src") ?? c.fail(item.pos, `${where} has no 'src'`, "src: path in the build context");
  const dest = fields.get("dest") ?? c.fail(item.pos, `${where} has no 'dest'`, "dest: absolute path in the guest");
  const mode = fields.get("mode");
  const owner = fields.get("owner");
  const fromNode = fields.get("from");
  const from = fromNode ? c.string(fromNode, `${where}.from`) : undefined;
  if (from !== undefined && !CONTEXT_NAME.test(from)) {
    c.fail(fromNode!.pos, `${where}.from '${from}' is not a build context or image name`, "as --build-context NAME=… names it, or an image reference");
  }
  // In another context or an image, paths are written from its root, as COPY --from writes them.
  const srcIn = from === undefined ? src : { ...src, value: typeof src.value === "string" ? src.value.replace(/^\/+/, "") || "." : src.value };
  const spec: CopySpec = {
    ...(from === undefined ? {} : { from }),
    src: c.contextPath(srcIn, `${where}.src`, true),
    dest: c.guestPath(dest, `${where}.dest`),
    ...(mode ? { mode: parseMode(c, mode, `${where}.mode`) } : {}),
    ...(owner ? { owner: parseOwner(c, owner, `${where}.owner`) } : {}),
    pos: item.pos,
  };
  if (/[*?[]/.test(spec.src) && !spec.dest.endsWith("/")) {
    c.fail(dest.pos, `${where}.dest must end with '/' when src is a glob`, `${spec.dest}/`);
  }
  return spec;
}

/** A secret's file name in /run/secrets: not "." or "..". */
const SECRET_ID = /^(?!\.\.?$)[A-Za-z0-9_.-]+$/;

function parseSecret(c: Checker, node: YNode, what: string): SecretUse {
  const read = (n: YNode, w: string) => {
    const id = c.string(n, w);
    if (!SECRET_ID.test(id)) c.fail(n.pos, `${w} '${id}' is not a secret id`, "letters, digits, '.', '_' and '-', as in --secret id=npmrc,src=…");
    return id;
  };
  if (typeof node.value === "string") return { id: read(node, what), required: true };
  const f = new Map(c.entries(node, SECRET_KEYS, what).map((e) => [e.name, e.value]));
  const id = f.get("id") ?? c.fail(node.pos, `${what} has no 'id'`, "id: the name given to --secret id=…");
  const required = f.get("required");
  return { id: read(id, `${what}.id`), required: required ? c.boolean(required, `${what}.required`) : true };
}

/** A run entry: a command (shell string or argv), or a mapping with the command and the secrets it reads. */
function parseRun(c: Checker, node: YNode, what: string): RunSpec {
  if (typeof node.value === "string" || Array.isArray(node.value)) return { argv: c.command(node, what), secrets: [], pos: node.pos };
  const f = new Map(c.entries(node, RUN_KEYS, what).map((e) => [e.name, e.value]));
  const command = f.get("command") ?? c.fail(node.pos, `${what} has no 'command'`, "command: the shell command or argv list to run");
  const secretsNode = f.get("secrets");
  const uses = secretsNode && secretsNode.value !== null
    ? (Array.isArray(secretsNode.value) ? secretsNode.children : [secretsNode]).map((n, i) => parseSecret(c, n, `${what}.secrets[${i}]`))
    : [];
  const ids = uses.map((u) => u.id);
  const twice = ids.find((id, i) => ids.indexOf(id) !== i);
  if (twice) c.fail(secretsNode!.pos, `${what}.secrets names '${twice}' twice`);
  return { argv: c.command(command, `${what}.command`), secrets: uses, pos: node.pos };
}

function parseExposed(c: Checker, node: YNode, what: string): PortSpec {
  const text = c.string(node, what);
  const m = /^(\d+)(?:\/(tcp|udp))?$/i.exec(text.trim());
  if (!m) c.fail(node.pos, `${what} '${text}' is not a port`, "write 80, 80/tcp or 53/udp");
  return parsePort(text) ?? c.fail(node.pos, `${what} ${m[1]} is not between 1 and 65535`);
}

function parseSignal(c: Checker, node: YNode, what: string): string {
  const text = c.string(node, what).trim().toUpperCase();
  const name = text.replace(/^SIG/, "");
  if (/^\d+$/.test(name) && Number(name) >= 1 && Number(name) <= 64) return name;
  if (!SIGNALS.includes(name)) c.fail(node.pos, `${what} '${text}' is not a signal`, `valid: ${SIGNALS.map((s) => `SIG${s}`).join(", ")} or a number`);
  return `SIG${name}`;
}

function parseHealthcheck(c: Checker, node: YNode): HealthcheckSpec {
  if (typeof node.value === "string" || Array.isArray(node.value)) return { test: c.command(node, "healthcheck") };
  const f = new Map(c.entries(node, HEALTHCHECK_KEYS, "healthcheck").map((e) => [e.name, e.value]));
  const get = <T>(key: string, read: (n: YNode) => T) => (f.has(key) ? read(f.get(key)!) : undefined);
  const interval = get("interval", (n) => c.durationNs(n, "healthcheck.interval"));
  const timeout = get("timeout", (n) => c.durationNs(n, "healthcheck.timeout"));
  const startPeriod = get("start_period", (n) => c.durationNs(n, "healthcheck.start_period"));
  const retries = get("retries", (n) => c.integer(n, "healthcheck.retries", 1, 1000));
  return {
    test: get("test", (n) => c.command(n, "healthcheck.test")) ?? [],
    ...(interval === undefined ? {} : { intervalNs: interval }),
    ...(timeout === undefined ? {} : { timeoutNs: timeout }),
    ...(startPeriod === undefined ? {} : { startPeriodNs: startPeriod }),
    ...(retries === undefined ? {} : { retries }),
  };
}

/**
 * The app keys (copy, run and the image config) of the top level or of a
 * target, from the entries of that mapping. The caller has checked key names.
 */
export function parseStage(c: Checker, fields: ReadonlyMap<string, YNode>, where: string): StageSpec {
  const at = (key: string) => fields.get(key);
  const listOf = <T>(key: string, example: string, read: (n: YNode, what: string) => T): T[] => {
    const node = at(key);
    if (!node || node.value === null) return [];
    return c.list(node, `${where}${key}`, example).map((item, i) => read(item, `${where}${key}[${i}]`));
  };
  const copy = listOf("copy", "- app: /opt/app/app", (n, w) => parseCopy(c, n, w));
  const run = listOf("run", "- apt-get install -y curl", (n, w) => parseRun(c, n, w));
  const expose = listOf("expose", "[80, 53/udp]", (n, w) => parseExposed(c, n, w));
  const volumes = listOf("volumes", "[/data]", (n, w) => c.guestPath(n, w));

  const envNode = at("env");
  const env = envNode ? c.stringMap(envNode, `${where}env`, (name, key) => {
    if (!ENV_NAME.test(name)) c.fail(key.pos, `env name '${name}' is not a valid variable name`, "letters, digits and _, not starting with a digit");
    if (name.startsWith("CX_")) c.fail(key.pos, `env name '${name}' is reserved for the Containerx runtime`, "CX_* variables configure the VM; set them with docker run -e");
  }) : {};
  const labelNode = at("labels");
  const labels = labelNode ? c.stringMap(labelNode, `${where}labels`, (name, key) => {
    if (!name.trim()) c.fail(key.pos, "a label name must not be empty");
  }) : {};

  const one = <T>(key: string, read: (n: YNode, what: string) => T): T | undefined => {
    const node = at(key);
    return node && node.value !== null ? read(node, `${where}${key}`) : undefined;
  };
  const config: AppConfigSpec = {
    env,
    labels,
    expose,
    volumes,
    ...optional("entrypoint", one("entrypoint", (n, w) => c.command(n, w))),
    ...optional("cmd", one("cmd", (n, w) => c.command(n, w))),
    ...optional("workdir", one("workdir", (n, w) => c.guestPath(n, w))),
    ...optional("user", one("user", (n, w) => {
      const user = c.string(n, w);
      if (!/^[A-Za-z0-9_.][A-Za-z0-9_.-]*(:[A-Za-z0-9_.][A-Za-z0-9_.-]*)?$/.test(user)) c.fail(n.pos, `${w} '${user}' must be user or user:group (names or numbers)`);
      return user;
    })),
    ...optional("healthcheck", one("healthcheck", (n) => parseHealthcheck(c, n))),
    ...optional("stopSignal", one("stop_signal", (n, w) => parseSignal(c, n, w))),
    ...optional("stopTimeoutSeconds", one("stop_timeout", (n, w) => c.integer(n, w, 0, 3600))),
  };
  return { copy, run, config };
}

function optional<K extends string, T>(key: K, value: T | undefined): { [P in K]?: T } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: T };
}
