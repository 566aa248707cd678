/**
 * The VM's shape travels as CX_* environment variables: the Cxfile's `guest:`
 * section becomes image Env defaults, `docker run -e` overrides them, and the
 * launcher and the build-time run step read them with the same code, so the
 * machine that runs `run:` steps at build time is the one `docker run` boots.
 */
import { SETTINGS } from "./settings.js";

export const GUEST_ENV = {
  machine: SETTINGS.machine.name,
  cpu: SETTINGS.cpu.name,
  cpus: SETTINGS.cpus.name,
  memory: SETTINGS.memory.name,
  kernelArgs: SETTINGS.kernelArgs.name,
  qemuArgs: SETTINGS.qemuArgs.name,
  diskSize: SETTINGS.diskSize.name,
} as const;

/** Bounds of the VM's shape, checked in the Cxfile and again on CX_* at run time. */
export const GUEST_LIMITS = {
  cpus: { min: 1, max: 64 },
  memoryMiB: { min: 64, max: 1024 * 1024 },
  /** The guest disk's size; at least the image's own disk, which the launcher checks. */
  diskMiB: { min: 64, max: 16 * 1024 * 1024 },
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

export interface GuestShape {
  readonly machine?: string;
  readonly cpu?: string;
  readonly cpus?: number;
  readonly memoryMiB?: number;
  readonly kernelArgs: readonly string[];
  readonly qemuArgs: readonly string[];
  /** The guest disk's size; the image's own disk's when absent. */
  readonly diskMiB?: number;
}

/** KEY=VALUE lines for the parts of `shape` that are set. */
export function guestEnv(shape: GuestShape): string[] {
  const env: string[] = [];
  if (shape.machine) env.push(`${GUEST_ENV.machine}=${shape.machine}`);
  if (shape.cpu) env.push(`${GUEST_ENV.cpu}=${shape.cpu}`);
  if (shape.cpus !== undefined) env.push(`${GUEST_ENV.cpus}=${shape.cpus}`);
  if (shape.memoryMiB !== undefined) env.push(`${GUEST_ENV.memory}=${shape.memoryMiB}M`);
  if (shape.kernelArgs.length) env.push(`${GUEST_ENV.kernelArgs}=${shape.kernelArgs.join(" ")}`);
  if (shape.qemuArgs.length) env.push(`${GUEST_ENV.qemuArgs}=${JSON.stringify(shape.qemuArgs)}`);
  if (shape.diskMiB !== undefined) env.push(`${GUEST_ENV.diskSize}=${shape.diskMiB}M`);
  return env;
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
