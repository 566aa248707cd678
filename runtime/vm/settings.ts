import { parsePort, PORTS_ENV, readGuestEnv, type GuestShape, type Port } from "../../common/guest-env.js";
import { parseEnvChoice, parseEnvInteger, SETTINGS, SettingsError } from "../../common/settings.js";
import { displayTakenPorts } from "../../common/display.js";
import type { AccelSetting } from "../launcher/accel.js";
import type { NetBackend } from "./network.js";
import { LOG_LEVELS, type LogLevel } from "../launcher/notes.js";

/**
 * Launcher settings from CX_* environment variables, validated once. The
 * guest's shape (GuestShape) is as the Cxfile gives it: memory and CPUs as
 * asked for, which guest-size.ts turns into the final size.
 */
export interface LauncherSettings extends GuestShape {
  readonly accel: AccelSetting;
  /** Guest ports reachable on the container's ports of the same number (CX_PORTS). */
  readonly ports: readonly Port[];
  /** CX_LOG: what the launcher says (notes.ts); debug puts the guest's serial console on stderr too. */
  readonly log: LogLevel;
  /** Seconds a KVM boot may take to reach the agent before falling back to TCG. */
  readonly kvmProbeSeconds: number;
  /** How volumes reach the guest (CX_VOLUME_FS); chooseVolumeFs (virtiofsd.ts) decides for auto. */
  readonly volumeFs: VolumeFsSetting;
  /** The network backend asked for (CX_NET); chooseNet (network.ts) says what serves. */
  readonly net: NetBackend;
  /** CX_SNAPSHOT=off boots cold even where the image's build-time snapshot would resume. */
  readonly snapshot: "auto" | "off";
  /** For a guest without the agent: seconds it has to power off after an ACPI request before QEMU is quit. */
  readonly powerdownSeconds: number;
  /** CX_ENTRYPOINT: the app's argv before the container's args; empty when the image has none. */
  readonly entrypoint: readonly string[];
  /** CX_USER: the image's guest user; `docker run -u` wins over it (container-process.ts). */
  readonly user?: string;
  /** CX_GDB_WAIT=1: with a gdb stub (CX_GDB), the guest waits for the debugger to continue it. */
  readonly gdbWait: boolean;
  /** CX_STATE_DIR: where the container's state lives; common/layout.ts stateDir picks one by user when absent. */
  readonly stateDir?: string;
}

export type VolumeFsSetting = "auto" | "virtiofs" | "9p";

function parsePorts(value: string | undefined): Port[] {
  return (value ?? "").split(/[\s,]+/).filter(Boolean).map((word) => {
    const port = parsePort(word);
    if (!port) throw new SettingsError(`${PORTS_ENV}=${value}: '${word}' is not a port such as 80/tcp or 53/udp`);
    return port;
  });
}

/** One of `choices`, or the first when the variable is unset. */
const parseChoice = <T extends string>(name: string, value: string | undefined, choices: readonly T[]): T =>
  parseEnvChoice(name, (value ?? choices[0]!).trim(), choices);

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

/** Two listeners on one container port: QEMU would not start. */
function checkPortClash(settings: LauncherSettings): LauncherSettings {
  const taken = new Map<number, string>();
  const claim = (port: number, by: string) => {
    const other = taken.get(port);
    if (other) throw new SettingsError(`${by} and ${other} both want container port ${port}`);
    taken.set(port, by);
  };
  settings.ports.filter((p) => p.protocol === "tcp").forEach((p) => claim(p.port, SETTINGS.ports.name));
  if (settings.gdbPort !== undefined) claim(settings.gdbPort, SETTINGS.gdb.name);
  settings.serial.forEach((s) => s.kind === "tcp" && claim(s.port, SETTINGS.serial.name));
  displayTakenPorts(settings.display).forEach((port) => claim(port, SETTINGS.display.name));
  return settings;
}

/** Every CX_* setting (common/settings.ts) read and checked, the only place they are. */
export function settingsFromEnv(env: NodeJS.ProcessEnv): LauncherSettings {
  const S = SETTINGS;
  const get = (key: keyof typeof SETTINGS) => env[S[key].name];
  const user = get("user")?.trim();
  return checkPortClash({
    ...readGuestEnv(env),
    accel: parseChoice(S.accel.name, get("accel"), ["auto", "kvm", "tcg"] as const),
    ports: parsePorts(get("ports")),
    log: parseChoice(S.log.name, get("log"), LOG_LEVELS),
    kvmProbeSeconds: get("kvmProbeSeconds") ? parseEnvInteger(S.kvmProbeSeconds.name, get("kvmProbeSeconds")!, 1, 600) : 10,
    volumeFs: parseChoice(S.volumeFs.name, get("volumeFs"), ["auto", "virtiofs", "9p"] as const),
    net: parseChoice(S.net.name, get("net"), ["slirp", "passt"] as const),
    snapshot: parseChoice(S.snapshot.name, get("snapshot"), ["auto", "off"] as const),
    // Below Docker's default stop timeout (10 s), so QEMU is quit before the container is killed.
    powerdownSeconds: get("powerdownSeconds") ? parseEnvInteger(S.powerdownSeconds.name, get("powerdownSeconds")!, 0, 3600) : 5,
    entrypoint: parseEntrypoint(get("entrypoint")),
    gdbWait: parseChoice(S.gdbWait.name, get("gdbWait"), ["0", "1"] as const) === "1",
    ...(user ? { user } : {}),
    ...(get("stateDir") ? { stateDir: get("stateDir")! } : {}),
  });
}

/** Environment variables that configure the runtime and are not passed to the guest app. */
export function isRuntimeVariable(name: string): boolean {
  return name.startsWith("CX_") || name === "HOSTNAME";
}
