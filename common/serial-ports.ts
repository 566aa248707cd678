/**
 * The guest's serial ports beyond its console (CX_SERIAL, the Cxfile's
 * `guest.serial`): where each one's bytes go on the container's side, and
 * what the guest calls it. The launcher, the QEMU command line, the Cxfile
 * checker and the docs take both from here.
 */
import type { GuestArch } from "./arches.js";

/**
 * A TCP port of the container that one client at a time connects to (both
 * ways), or a file in the container, a volume's typically, that gets what the
 * guest writes.
 */
export type SerialBackend =
  | { readonly kind: "tcp"; readonly port: number }
  | { readonly kind: "file"; readonly path: string };

export const SERIAL_EXAMPLE = "tcp:4001 or file:/logs/uart1.log";

/** How many a guest may have: QEMU's pc machines have four ISA UARTs, and a few virtio consoles are enough beyond that. */
export const MAX_SERIAL_PORTS = 4;

/** One word of CX_SERIAL: the backend, or what is wrong with it. */
export function parseSerialBackend(word: string): SerialBackend | { readonly problem: string } {
  const tcp = /^tcp:(\d{1,5})$/.exec(word);
  if (tcp) {
    const port = Number(tcp[1]);
    return port >= 1 && port <= 65535 ? { kind: "tcp", port } : { problem: `'${word}': the port must be between 1 and 65535` };
  }
  if (word.startsWith("file:/")) return { kind: "file", path: word.slice("file:".length) };
  return { problem: `'${word}' is not a serial port such as ${SERIAL_EXAMPLE}` };
}

/** The backend as CX_SERIAL writes it. */
export const serialWord = (b: SerialBackend) => (b.kind === "tcp" ? `tcp:${b.port}` : `file:${b.path}`);

/** The backend as a note shows it. */
export const serialText = (b: SerialBackend) => (b.kind === "tcp" ? `container port ${b.port}` : b.path);

/**
 * How many of `count` extra ports are the machine's own UARTs: those the
 * table says it has spare, unless the app chose another machine; the rest
 * are virtio consoles.
 */
export const machineUarts = (arch: GuestArch, machine: string, count: number) =>
  Math.min(count, machine === arch.machine ? arch.spareUarts ?? 0 : 0);

/**
 * The guest's names of its first `count` extra serial ports, in CX_SERIAL's
 * order: the machine's UARTs named as the console is, numbered on, then the
 * virtio consoles, which the guest numbers after a console that is one
 * already (pseries' hvc0).
 */
export function serialDevices(arch: GuestArch, count: number, machine: string = arch.machine): string[] {
  const uarts = machineUarts(arch, machine, count);
  const [, name, number] = /^(\D+)(\d+)$/.exec(arch.console) ?? [];
  const firstHvc = arch.console.startsWith("hvc") ? 1 : 0;
  return Array.from({ length: count }, (_, i) => (i < uarts ? `${name}${Number(number) + 1 + i}` : `hvc${firstHvc + i - uarts}`));
}
