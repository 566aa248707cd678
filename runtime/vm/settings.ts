import { formatMiB, GUEST_ENV, GUEST_LIMITS, parseSizeMiB, parsePort, PORTS_ENV, QEMU_MODEL_NAME, type Port } from "../../common/guest-env.js";
import { SETTINGS } from "../../common/settings.js";
import { checkQemuArgs } from "../../common/qemu-options.js";
import type { AccelSetting } from "../launcher/accel.js";
import { LOG_LEVELS, type LogLevel } from "../launcher/notes.js";

/** Launcher settings from CX_* environment variables, validated once. */
export interface LauncherSettings {
  readonly accel: AccelSetting;
  /** Asked for by CX_MEMORY / CX_CPUS; guest-size.ts decides the final size. */
  readonly memoryMiB?: number;
  /** CX_DISK_SIZE: the guest disk grown to this size (never below the image's disk); the image's size when absent. */
  readonly diskMiB?: number;
  readonly cpus?: number;
  /** Guest ports reachable on the container's ports of the same number (CX_PORTS). */
  readonly ports: readonly Port[];
  /** QEMU machine and CPU model; the guest-arch table's when absent. */
  readonly machine?: string;
  readonly cpu?: string;
  readonly kernelArgs: readonly string[];
  readonly qemuArgs: readonly string[];
  /** CX_LOG: what the launcher says (notes.ts); debug puts the guest's serial console on stderr too. */
  readonly log: LogLevel;
  /** Seconds a KVM boot may take to reach the agent before falling back to TCG. */
  readonly kvmProbeSeconds: number;
  /** How volumes reach the guest (CX_VOLUME_FS); chooseVolumeFs (virtiofsd.ts) decides for auto. */
  readonly volumeFs: VolumeFsSetting;
  /** CX_SNAPSHOT=off boots cold even where the image's build-time snapshot would resume. */
  readonly snapshot: "auto" | "off";
  /** For a guest without the agent: seconds it has to power off after an ACPI request before QEMU is quit. */
  readonly powerdownSeconds: number;
  /** CX_ENTRYPOINT: the app's argv before the container's args; empty when the image has none. */
  readonly entrypoint: readonly string[];
  /** CX_USER: the image's guest user; `docker run -u` wins over it (container-process.ts). */
  readonly user?: string;
  /** CX_STATE_DIR: where the container's state lives; common/layout.ts stateDir picks one by user when absent. */
  readonly stateDir?: string;
}

export type VolumeFsSetting = "auto" | "virtiofs" | "9p";

export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SettingsError";
  }
}

/** A size setting (CX_MEMORY, CX_DISK_SIZE) within its limits, in MiB. */
function parseSize(name: string, value: string, limits: { readonly min: number; readonly max: number }, example: string): number {
  const mib = parseSizeMiB(value);
  if (mib === undefined) throw new SettingsError(`${name}=${value}: expected a size such as ${example}`);
  if (mib < limits.min || mib > limits.max) throw new SettingsError(`${name}=${value}: must be between ${formatMiB(limits.min)} and ${formatMiB(limits.max)}`);
  return mib;
}

function parseInteger(name: string, value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value.trim())) throw new SettingsError(`${name}=${value}: expected a whole number`);
  const n = Number(value);
  if (n < min || n > max) throw new SettingsError(`${name}=${value}: must be between ${min} and ${max}`);
  return n;
}

function parseWord(name: string, value: string | undefined): string | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  if (!QEMU_MODEL_NAME.test(value.trim())) throw new SettingsError(`${name}=${value}: not a QEMU model name`);
  return value.trim();
}

/** CX_QEMU_ARGS: a JSON array of strings, or words separated by spaces. */
function parseQemuArgs(value: string | undefined): string[] {
  if (!value?.trim()) return [];
  let args: unknown;
  if (value.trim().startsWith("[")) {
    try {
      args = JSON.parse(value);
    } catch {
      throw new SettingsError(`${GUEST_ENV.qemuArgs}: not a valid JSON array`);
    }
    if (!Array.isArray(args) || !args.every((a) => typeof a === "string")) throw new SettingsError(`${GUEST_ENV.qemuArgs}: expected a JSON array of strings`);
  } else {
    args = value.trim().split(/\s+/);
  }
  const list = args as string[];
  const bad = checkQemuArgs(list);
  if (bad) throw new SettingsError(`${GUEST_ENV.qemuArgs}: argument ${bad.index + 1}: ${bad.problem}${bad.hint ? ` (${bad.hint})` : ""}`);
  return list;
}

function parsePorts(value: string | undefined): Port[] {
  return (value ?? "").split(/[\s,]+/).filter(Boolean).map((word) => {
    const port = parsePort(word);
    if (!port) throw new SettingsError(`${PORTS_ENV}=${value}: '${word}' is not a port such as 80/tcp or 53/udp`);
    return port;
  });
}

/** One of `choices`, or the first when the variable is unset. */
function parseChoice<T extends string>(name: string, value: string | undefined, choices: readonly T[]): T {
  const v = (value ?? choices[0]).trim();
  if (!(choices as readonly string[]).includes(v)) throw new SettingsError(`${name}=${v}: expected ${choices.slice(0, -1).join(", ")} or ${choices.at(-1)}`);
  return v as T;
}

/** CX_ENTRYPOINT: the argv the image's app starts with, a JSON array of strings. */
function parseEntrypoint(value: string | undefined): string[] {
  if (!value) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === "string")) {
    throw new SettingsError(`${SETTINGS.entrypoint.name} must be a JSON array of strings, got ${value}`);
  }
  return parsed;
}

/** Every CX_* setting (common/settings.ts) read and checked, the only place they are. */
export function settingsFromEnv(env: NodeJS.ProcessEnv): LauncherSettings {
  const S = SETTINGS;
  const get = (key: keyof typeof SETTINGS) => env[S[key].name];
  const machine = parseWord(S.machine.name, get("machine"));
  const cpu = parseWord(S.cpu.name, get("cpu"));
  const user = get("user")?.trim();
  return {
    accel: parseChoice(S.accel.name, get("accel"), ["auto", "kvm", "tcg"] as const),
    ...(get("memory") ? { memoryMiB: parseSize(S.memory.name, get("memory")!, GUEST_LIMITS.memoryMiB, "512M or 2G") } : {}),
    ...(get("diskSize") ? { diskMiB: parseSize(S.diskSize.name, get("diskSize")!, GUEST_LIMITS.diskMiB, "8G or 512M") } : {}),
    ...(get("cpus") ? { cpus: parseInteger(S.cpus.name, get("cpus")!, GUEST_LIMITS.cpus.min, GUEST_LIMITS.cpus.max) } : {}),
    ports: parsePorts(get("ports")),
    ...(machine ? { machine } : {}),
    ...(cpu ? { cpu } : {}),
    kernelArgs: (get("kernelArgs") ?? "").split(/\s+/).filter(Boolean),
    qemuArgs: parseQemuArgs(get("qemuArgs")),
    log: parseChoice(S.log.name, get("log"), LOG_LEVELS),
    kvmProbeSeconds: get("kvmProbeSeconds") ? parseInteger(S.kvmProbeSeconds.name, get("kvmProbeSeconds")!, 1, 600) : 10,
    volumeFs: parseChoice(S.volumeFs.name, get("volumeFs"), ["auto", "virtiofs", "9p"] as const),
    snapshot: parseChoice(S.snapshot.name, get("snapshot"), ["auto", "off"] as const),
    // Below Docker's default stop timeout (10 s), so QEMU is quit before the container is killed.
    powerdownSeconds: get("powerdownSeconds") ? parseInteger(S.powerdownSeconds.name, get("powerdownSeconds")!, 0, 3600) : 5,
    entrypoint: parseEntrypoint(get("entrypoint")),
    ...(user ? { user } : {}),
    ...(get("stateDir") ? { stateDir: get("stateDir")! } : {}),
  };
}

/** Environment variables that configure the runtime and are not passed to the guest app. */
export function isRuntimeVariable(name: string): boolean {
  return name.startsWith("CX_") || name === "HOSTNAME";
}
