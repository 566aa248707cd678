import { GUEST_ENV, GUEST_LIMITS, parseMemoryMiB, QEMU_MODEL_NAME } from "../../common/guest-env.js";
import { checkQemuArgs } from "../../common/qemu-options.js";
import type { AccelSetting } from "./accel.js";

/** Launcher settings from CX_* environment variables, validated once. */
export interface LauncherSettings {
  readonly accel: AccelSetting;
  readonly memoryMiB: number;
  readonly cpus: number;
  /** QEMU machine and CPU model; the guest-arch table's when absent. */
  readonly machine?: string;
  readonly cpu?: string;
  readonly kernelArgs: readonly string[];
  readonly qemuArgs: readonly string[];
  readonly debugConsole: boolean;
  /** Seconds a KVM boot may take to reach the agent before falling back to TCG. */
  readonly kvmProbeSeconds: number;
}

export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SettingsError";
  }
}

const DEFAULT_MEMORY_MIB = 512;

function parseMemory(value: string): number {
  const mib = parseMemoryMiB(value);
  if (mib === undefined) throw new SettingsError(`${GUEST_ENV.memory}=${value}: expected a size such as 512M or 2G`);
  const { min, max } = GUEST_LIMITS.memoryMiB;
  if (mib < min || mib > max) throw new SettingsError(`${GUEST_ENV.memory}=${value}: must be between ${min}M and ${max / 1024}G`);
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

export function settingsFromEnv(env: NodeJS.ProcessEnv): LauncherSettings {
  const accel = (env.CX_ACCEL ?? "auto").trim();
  if (accel !== "auto" && accel !== "kvm" && accel !== "tcg") {
    throw new SettingsError(`CX_ACCEL=${accel}: expected auto, kvm or tcg`);
  }
  const debug = (env.CX_DEBUG ?? "").trim();
  const machine = parseWord(GUEST_ENV.machine, env[GUEST_ENV.machine]);
  const cpu = parseWord(GUEST_ENV.cpu, env[GUEST_ENV.cpu]);
  return {
    accel,
    memoryMiB: env[GUEST_ENV.memory] ? parseMemory(env[GUEST_ENV.memory]!) : DEFAULT_MEMORY_MIB,
    cpus: env[GUEST_ENV.cpus] ? parseInteger(GUEST_ENV.cpus, env[GUEST_ENV.cpus]!, GUEST_LIMITS.cpus.min, GUEST_LIMITS.cpus.max) : 1,
    ...(machine ? { machine } : {}),
    ...(cpu ? { cpu } : {}),
    kernelArgs: (env[GUEST_ENV.kernelArgs] ?? "").split(/\s+/).filter(Boolean),
    qemuArgs: parseQemuArgs(env[GUEST_ENV.qemuArgs]),
    debugConsole: debug !== "" && debug !== "0" && debug !== "false",
    kvmProbeSeconds: env.CX_KVM_PROBE_SECONDS ? parseInteger("CX_KVM_PROBE_SECONDS", env.CX_KVM_PROBE_SECONDS, 1, 600) : 10,
  };
}

/** Environment variables that configure the runtime and are not passed to the guest app. */
export function isRuntimeVariable(name: string): boolean {
  return name.startsWith("CX_") || name === "HOSTNAME";
}
