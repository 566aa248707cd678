/**
 * Extra QEMU arguments an app may add (Cxfile `guest.qemu_args`, or
 * CX_QEMU_ARGS at run time). Only options that each take one value and add to
 * the machine are passed through: everything that shapes what the runtime
 * itself sets up (kernel, disks, serial, agent channel, monitor, daemonizing)
 * stays out, so extra arguments cannot break the launcher.
 */
export const ALLOWED_QEMU_OPTIONS = ["-device", "-global", "-object", "-rtc", "-fw_cfg", "-smbios", "-icount", "-overcommit"] as const;

/** Device and backend ids of the runtime's own command line, which extra arguments may not take. */
export const QEMU_IDS = {
  console: "console",
  disk: "root",
  serial: "cxserial",
  agent: "cxagent",
  net: "net0",
  /** An unconnected slirp backend that loads the slirp state of a snapshot resumed under passt. */
  slirpState: "cxslirp",
  ram: "cxram",
} as const;
/** The i-th shared folder's device or backend. */
export const shareId = (i: number) => `fs${i}`;
/** The backend of the guest's i-th serial port beyond its console. */
export const serialId = (i: number) => `uart${i}`;

/** QEMU's option values escape a comma by doubling it. */
export const optionValue = (text: string) => text.replace(/,/g, ",,");
const RUNTIME_IDS: ReadonlySet<string> = new Set(Object.values(QEMU_IDS));
const RESERVED = [...RUNTIME_IDS, "fs<N>", "uart<N>"];
const isReserved = (id: string) => RUNTIME_IDS.has(id) || /^(fs|uart)\d+$/.test(id);

export interface QemuArgsProblem {
  /** Index of the offending argument. */
  readonly index: number;
  readonly problem: string;
  readonly hint?: string;
}

/** Checks option/value pairs; undefined when every pair may be passed to QEMU. */
export function checkQemuArgs(args: readonly string[]): QemuArgsProblem | undefined {
  for (let i = 0; i < args.length; i += 2) {
    const option = args[i];
    if (!(ALLOWED_QEMU_OPTIONS as readonly string[]).includes(option)) {
      return { index: i, problem: `'${option}' is not an option Containerx passes through to QEMU`, hint: `allowed: ${ALLOWED_QEMU_OPTIONS.join(", ")}` };
    }
    if (i + 1 >= args.length) return { index: i, problem: `'${option}' needs a value after it` };
    const id = /(?:^|,)id=([^,]*)/.exec(args[i + 1])?.[1];
    if (id && isReserved(id)) {
      return { index: i + 1, problem: `id '${id}' is used by the runtime`, hint: `reserved: ${RESERVED.join(", ")}` };
    }
  }
  return undefined;
}
