/**
 * The VM's shape travels as CX_* environment variables: the Cxfile's `guest:`
 * section becomes image Env defaults, `docker run -e` overrides them, and the
 * launcher and the build-time run step read them with the same code, so the
 * machine that runs `run:` steps at build time is the one `docker run` boots.
 */
import { checkQemuArgs } from "./qemu-options.js";
import { MAX_SERIAL_PORTS, parseSerialBackend, serialWord, type SerialBackend } from "./serial-ports.js";
import { DISPLAY_MODES } from "./display.js";
import { parseEnvChoice, parseEnvInteger, SETTINGS, SettingsError, type SettingKey } from "./settings.js";

/** How a guest setting's value is written, in the Cxfile and as its CX_* variable, and checked. */
export type GuestValue =
  /** A QEMU machine type or CPU model name. */
  | { readonly kind: "model" }
  | { readonly kind: "integer"; readonly min: number; readonly max: number }
  /** MiB; written as 512M or 2G. */
  | { readonly kind: "size"; readonly min: number; readonly max: number; readonly example: string }
  /** Words: a YAML list or one string in the Cxfile, space-separated in the variable. */
  | { readonly kind: "words" }
  /** QEMU option/value pairs on the allow-list (qemu-options.ts): a JSON array in the variable. */
  | { readonly kind: "qemuArgs" }
  /** Serial ports' backends (serial-ports.ts): words, as `words` are written. */
  | { readonly kind: "serial" }
  /** One of a few words. */
  | { readonly kind: "choice"; readonly choices: readonly string[] };

interface GuestSetting {
  /** Its entry in the CX_* table (common/settings.ts): the variable's name and docs. */
  readonly setting: SettingKey;
  /** Its key under the Cxfile's `guest:`. */
  readonly cxfile: string;
  readonly value: GuestValue;
}

/**
 * Every guest setting, by its field in GuestShape, in the order of the image
 * config's Env (a new one goes last: the order is in the LLB's cache keys).
 * The Cxfile parser, the image config writer and the launcher's reader all
 * go through this table, so a new setting of a known kind is one row here,
 * its CX_* entry, and the code that uses it.
 */
export const GUEST_SETTINGS = {
  machine: { setting: "machine", cxfile: "machine", value: { kind: "model" } },
  cpu: { setting: "cpu", cxfile: "cpu", value: { kind: "model" } },
  cpus: { setting: "cpus", cxfile: "cpus", value: { kind: "integer", min: 1, max: 64 } },
  memoryMiB: { setting: "memory", cxfile: "memory", value: { kind: "size", min: 64, max: 1024 * 1024, example: "512M or 2G" } },
  kernelArgs: { setting: "kernelArgs", cxfile: "kernel_args", value: { kind: "words" } },
  qemuArgs: { setting: "qemuArgs", cxfile: "qemu_args", value: { kind: "qemuArgs" } },
  /** The guest disk's size; at least the image's own disk, which the launcher checks. */
  diskMiB: { setting: "diskSize", cxfile: "disk_size", value: { kind: "size", min: 64, max: 16 * 1024 * 1024, example: "8G or 512M" } },
  /** The container port of QEMU's gdb stub; a run-time setting only: build steps run no stub. */
  gdbPort: { setting: "gdb", cxfile: "gdb", value: { kind: "integer", min: 1, max: 65535 } },
  /** The guest's serial ports beyond its console; like the gdb stub, for `docker run` only. */
  serial: { setting: "serial", cxfile: "serial", value: { kind: "serial" } },
  /** The screen (display.ts): its devices are the machine's, build and run alike; its VNC server is `docker run`'s. */
  display: { setting: "display", cxfile: "display", value: { kind: "choice", choices: DISPLAY_MODES } },
} as const satisfies Record<string, GuestSetting>;

type Table = typeof GUEST_SETTINGS;
type ListField = { [K in keyof Table]: Table[K]["value"]["kind"] extends "words" | "qemuArgs" | "serial" ? K : never }[keyof Table];
type ValueOf<V extends GuestValue> = V extends { kind: "model" } ? string : V extends { kind: "integer" | "size" } ? number
  : V extends { kind: "choice"; choices: readonly (infer C)[] } ? C : V extends { kind: "serial" } ? readonly SerialBackend[] : readonly string[];

/** The VM's shape as the Cxfile and CX_* give it: unset fields are the arch table's or the runtime's defaults; lists are empty. */
export type GuestShape =
  & { readonly [K in Exclude<keyof Table, ListField>]?: ValueOf<Table[K]["value"]> }
  & { readonly [K in ListField]: ValueOf<Table[K]["value"]> };

export const EMPTY_GUEST_SHAPE: GuestShape = { kernelArgs: [], qemuArgs: [], serial: [] };

const fields = Object.keys(GUEST_SETTINGS) as (keyof Table)[];

/** The variable of a guest setting, by its GuestShape field. */
export const guestVariable = (field: keyof Table): string => SETTINGS[GUEST_SETTINGS[field].setting].name;

/** Bounds of the VM's shape, checked in the Cxfile and again on CX_* at run time. */
export const GUEST_LIMITS = {
  cpus: GUEST_SETTINGS.cpus.value,
  memoryMiB: GUEST_SETTINGS.memoryMiB.value,
  diskMiB: GUEST_SETTINGS.diskMiB.value,
} as const;

/**
 * A size in MiB: 512, 512M, 512MiB, 2G, 2GB, 1T. The Cxfile's guest.memory
 * and guest.disk_size and their CX_* variables share it, so a value valid in
 * one is valid in the other.
 */
export function parseSizeMiB(text: string): number | undefined {
  const m = /^(\d+)\s*(?:([mMgGtT])(?:i?[bB])?)?$/.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * ({ g: 1024, t: 1024 * 1024 }[m[2]?.toLowerCase() ?? ""] ?? 1);
}

/** A size in MiB as the messages show it: 512M, 2G, 16T. */
export function formatMiB(mib: number): string {
  if (mib % (1024 * 1024) === 0) return `${mib / 1024 / 1024}T`;
  return mib % 1024 === 0 ? `${mib / 1024}G` : `${mib}M`;
}

/** A QEMU machine type or CPU model name: one word, nothing a shell or QEMU option parser would split. */
export const QEMU_MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.,=+-]*$/;

function envText(value: GuestValue, v: string | number | readonly string[] | readonly SerialBackend[]): string {
  switch (value.kind) {
    case "size":
      return `${v as number}M`;
    case "words":
      return (v as readonly string[]).join(" ");
    case "serial":
      return (v as readonly SerialBackend[]).map(serialWord).join(" ");
    case "qemuArgs":
      return JSON.stringify(v);
    default:
      return String(v);
  }
}

/** KEY=VALUE lines for the parts of `shape` that are set. */
export function guestEnv(shape: GuestShape): string[] {
  return fields.flatMap((field) => {
    const v = shape[field];
    if (v === undefined || (Array.isArray(v) && v.length === 0)) return [];
    return [`${guestVariable(field)}=${envText(GUEST_SETTINGS[field].value, v)}`];
  });
}

/** CX_SERIAL's words, each one port. */
function parseSerialWords(name: string, words: readonly string[]): SerialBackend[] {
  if (words.length > MAX_SERIAL_PORTS) throw new SettingsError(`${name}: ${words.length} serial ports, at most ${MAX_SERIAL_PORTS}`);
  return words.map((word) => {
    const parsed = parseSerialBackend(word);
    if ("problem" in parsed) throw new SettingsError(`${name}: ${parsed.problem}`);
    return parsed;
  });
}

/** CX_QEMU_ARGS: a JSON array of strings, or words separated by spaces. */
function parseQemuArgs(name: string, text: string): string[] {
  let args: unknown = text.split(/\s+/);
  if (text.startsWith("[")) {
    try {
      args = JSON.parse(text);
    } catch {
      throw new SettingsError(`${name}: not a valid JSON array`);
    }
    if (!Array.isArray(args) || !args.every((a) => typeof a === "string")) throw new SettingsError(`${name}: expected a JSON array of strings`);
  }
  const list = args as string[];
  const bad = checkQemuArgs(list);
  if (bad) throw new SettingsError(`${name}: argument ${bad.index + 1}: ${bad.problem}${bad.hint ? ` (${bad.hint})` : ""}`);
  return list;
}

function parseValue(name: string, value: GuestValue, text: string): string | number | string[] | SerialBackend[] {
  switch (value.kind) {
    case "model":
      if (!QEMU_MODEL_NAME.test(text)) throw new SettingsError(`${name}=${text}: not a QEMU model name`);
      return text;
    case "integer":
      return parseEnvInteger(name, text, value.min, value.max);
    case "size": {
      const mib = parseSizeMiB(text);
      if (mib === undefined) throw new SettingsError(`${name}=${text}: expected a size such as ${value.example}`);
      if (mib < value.min || mib > value.max) throw new SettingsError(`${name}=${text}: must be between ${formatMiB(value.min)} and ${formatMiB(value.max)}`);
      return mib;
    }
    case "words":
      return text.split(/\s+/);
    case "qemuArgs":
      return parseQemuArgs(name, text);
    case "serial":
      return parseSerialWords(name, text.split(/\s+/));
    case "choice":
      return parseEnvChoice(name, text, value.choices);
  }
}

/** The guest's shape read back from CX_* variables, each checked as the Cxfile checks it; an empty variable is unset. */
export function readGuestEnv(env: NodeJS.ProcessEnv): GuestShape {
  const shape: Record<string, unknown> = { ...EMPTY_GUEST_SHAPE };
  for (const field of fields) {
    const text = env[guestVariable(field)]?.trim();
    if (text) shape[field] = parseValue(guestVariable(field), GUEST_SETTINGS[field].value, text);
  }
  // Each field was parsed by its own row's kind, which is what GuestShape's type says of it.
  return shape as GuestShape;
}

/** The image's exposed ports, for the launcher to forward: "80/tcp 53/udp". */
export const PORTS_ENV = SETTINGS.ports.name;

export interface Port {
  readonly port: number;
  readonly protocol: "tcp" | "udp";
}

export function parsePort(text: string): Port | undefined {
  const m = /^(\d{1,5})(?:\/(tcp|udp))?$/.exec(text.trim().toLowerCase());
  const port = m ? Number(m[1]) : 0;
  if (!m || port < 1 || port > 65535) return undefined;
  return { port, protocol: (m[2] ?? "tcp") as Port["protocol"] };
}

export const portsEnv = (ports: readonly Port[]): string => `${PORTS_ENV}=${ports.map((p) => `${p.port}/${p.protocol}`).join(" ")}`;
