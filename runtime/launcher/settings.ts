import { formatMiB, GUEST_ENV, GUEST_LIMITS, parseSizeMiB, parsePort, PORTS_ENV, QEMU_MODEL_NAME, type Port } from "../../common/guest-env.js";
import { checkQemuArgs } from "../../common/qemu-options.js";
import type { AccelSetting } from "./accel.js";
import { LOG_LEVELS, type LogLevel } from "./notes.js";

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

export function settingsFromEnv(env: NodeJS.ProcessEnv): LauncherSettings {
  const accel = (env.CX_ACCEL ?? "auto").trim();
  if (accel !== "auto" && accel !== "kvm" && accel !== "tcg") {
    throw new SettingsError(`CX_ACCEL=${accel}: expected auto, kvm or tcg`);
  }
  const volumeFs = (env.CX_VOLUME_FS ?? "auto").trim();
  if (volumeFs !== "auto" && volumeFs !== "virtiofs" && volumeFs !== "9p") {
    throw new SettingsError(`CX_VOLUME_FS=${volumeFs}: expected auto, virtiofs or 9p`);
  }
  const snapshot = (env.CX_SNAPSHOT ?? "auto").trim();
  if (snapshot !== "auto" && snapshot !== "off") throw new SettingsError(`CX_SNAPSHOT=${snapshot}: expected auto or off`);
  const log = (env.CX_LOG ?? "quiet").trim();
  if (!(LOG_LEVELS as readonly string[]).includes(log)) throw new SettingsError(`CX_LOG=${log}: expected ${LOG_LEVELS.join(", ")}`);
  const machine = parseWord(GUEST_ENV.machine, env[GUEST_ENV.machine]);
  const cpu = parseWord(GUEST_ENV.cpu, env[GUEST_ENV.cpu]);
  return {
    accel,
    ...(env[GUEST_ENV.memory] ? { memoryMiB: parseSize(GUEST_ENV.memory, env[GUEST_ENV.memory]!, GUEST_LIMITS.memoryMiB, "512M or 2G") } : {}),
    ...(env[GUEST_ENV.diskSize] ? { diskMiB: parseSize(GUEST_ENV.diskSize, env[GUEST_ENV.diskSize]!, GUEST_LIMITS.diskMiB, "8G or 512M") } : {}),
    ...(env[GUEST_ENV.cpus] ? { cpus: parseInteger(GUEST_ENV.cpus, env[GUEST_ENV.cpus]!, GUEST_LIMITS.cpus.min, GUEST_LIMITS.cpus.max) } : {}),
    ports: parsePorts(env[PORTS_ENV]),
    ...(machine ? { machine } : {}),
    ...(cpu ? { cpu } : {}),
    kernelArgs: (env[GUEST_ENV.kernelArgs] ?? "").split(/\s+/).filter(Boolean),
    qemuArgs: parseQemuArgs(env[GUEST_ENV.qemuArgs]),
    log: log as LogLevel,
    kvmProbeSeconds: env.CX_KVM_PROBE_SECONDS ? parseInteger("CX_KVM_PROBE_SECONDS", env.CX_KVM_PROBE_SECONDS, 1, 600) : 10,
    volumeFs,
    snapshot,
    // Below Docker's default stop timeout (10 s), so QEMU is quit before the container is killed.
    powerdownSeconds: env.CX_POWERDOWN_SECONDS ? parseInteger("CX_POWERDOWN_SECONDS", env.CX_POWERDOWN_SECONDS, 0, 3600) : 5,
  };
}

/** Environment variables that configure the runtime and are not passed to the guest app. */
export function isRuntimeVariable(name: string): boolean {
  return name.startsWith("CX_") || name === "HOSTNAME";
}
