import type { AccelSetting } from "./accel.js";

/** Launcher settings from CX_* environment variables, validated once. */
export interface LauncherSettings {
  readonly accel: AccelSetting;
  readonly memoryMiB: number;
  readonly cpus: number;
  readonly kernelArgs: readonly string[];
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
  const m = /^(\d+)([mMgG]?)$/.exec(value.trim());
  if (!m) throw new SettingsError(`CX_MEMORY=${value}: expected a size such as 512M or 2G`);
  const mib = Number(m[1]) * (m[2].toLowerCase() === "g" ? 1024 : 1);
  if (mib < 64 || mib > 1024 * 1024) throw new SettingsError(`CX_MEMORY=${value}: must be between 64M and 1024G`);
  return mib;
}

function parseInteger(name: string, value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value.trim())) throw new SettingsError(`${name}=${value}: expected a whole number`);
  const n = Number(value);
  if (n < min || n > max) throw new SettingsError(`${name}=${value}: must be between ${min} and ${max}`);
  return n;
}

export function settingsFromEnv(env: NodeJS.ProcessEnv): LauncherSettings {
  const accel = (env.CX_ACCEL ?? "auto").trim();
  if (accel !== "auto" && accel !== "kvm" && accel !== "tcg") {
    throw new SettingsError(`CX_ACCEL=${accel}: expected auto, kvm or tcg`);
  }
  const debug = (env.CX_DEBUG ?? "").trim();
  return {
    accel,
    memoryMiB: env.CX_MEMORY ? parseMemory(env.CX_MEMORY) : DEFAULT_MEMORY_MIB,
    cpus: env.CX_CPUS ? parseInteger("CX_CPUS", env.CX_CPUS, 1, 64) : 1,
    kernelArgs: (env.CX_KERNEL_ARGS ?? "").split(/\s+/).filter(Boolean),
    debugConsole: debug !== "" && debug !== "0" && debug !== "false",
    kvmProbeSeconds: env.CX_KVM_PROBE_SECONDS ? parseInteger("CX_KVM_PROBE_SECONDS", env.CX_KVM_PROBE_SECONDS, 1, 600) : 10,
  };
}

/** Environment variables that configure the runtime and are not passed to the guest app. */
export function isRuntimeVariable(name: string): boolean {
  return name.startsWith("CX_") || name === "HOSTNAME";
}
