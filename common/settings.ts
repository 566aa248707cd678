/**
 * Every CX_* variable a Containerx container reads, in one table: its name,
 * its default as the docs give it, who sets it, and its doc line. The image
 * config writer (frontend/image/config.ts, common/guest-env.ts) and the one
 * reader (runtime/vm/settings.ts) take the names from here, and the
 * README's table is this table (a unit test compares them), as
 * tianon/docker-qemu's start-qemu lists every variable in one block.
 */
export interface SettingEntry {
  readonly name: string;
  /** The default as the docs show it (markdown). */
  readonly default: string;
  /** "image": the Cxfile writes it into the image config; "user": only `docker run -e` sets it. Either way `-e` overrides. */
  readonly setBy: "image" | "user";
  /** What it means and takes (markdown, one line). */
  readonly doc: string;
}

export const SETTINGS = {
  accel: {
    name: "CX_ACCEL", default: "`auto`", setBy: "user",
    doc: "`auto`, `kvm` or `tcg`; `auto` uses KVM only when the guest arch is the host's and `/dev/kvm` opens, and falls back to TCG if the KVM boot does not reach the agent",
  },
  memory: {
    name: "CX_MEMORY", default: "`512M`, or the container's `--memory` less QEMU's needs (160M)", setBy: "image",
    doc: "guest RAM (`512M`, `2G`; the Cxfile's `guest.memory`); never more than `--memory` allows",
  },
  cpus: {
    name: "CX_CPUS", default: "`1`, or the container's `--cpus` rounded up", setBy: "image",
    doc: "vCPUs (multi-threaded TCG when more than one; the Cxfile's `guest.cpus`)",
  },
  diskSize: {
    name: "CX_DISK_SIZE", default: "the image's disk (1G minimal, 4G Debian, or the Cxfile's `guest.disk_size`)", setBy: "image",
    doc: "the guest disk (`8G`); the agent grows the root filesystem to fill it before the app starts (ext4, online). Smaller than the image's disk is an error that names the minimum; a size other than the snapshot's boots cold. `docker run -e CX_DISK_SIZE=8G app df -h /` shows it",
  },
  ports: {
    name: "CX_PORTS", default: "the Cxfile's `expose`", setBy: "image",
    doc: "guest ports forwarded from the container's same port (`80/tcp 53/udp`), by slirp or passt (`CX_NET`)",
  },
  machine: { name: "CX_MACHINE", default: "arch table", setBy: "image", doc: "QEMU machine type (the Cxfile's `guest.machine`)" },
  cpu: { name: "CX_CPU", default: "arch table", setBy: "image", doc: "QEMU CPU model (the Cxfile's `guest.cpu`)" },
  kernelArgs: { name: "CX_KERNEL_ARGS", default: "", setBy: "image", doc: "extra kernel command line arguments (the Cxfile's `guest.kernel_args`)" },
  qemuArgs: {
    name: "CX_QEMU_ARGS", default: "", setBy: "image",
    doc: "extra QEMU option/value pairs (JSON array or space-separated), same allow-list as `guest.qemu_args`",
  },
  volumeFs: {
    name: "CX_VOLUME_FS", default: "`auto`", setBy: "user",
    doc: "`auto`, `virtiofs` or `9p`: how volumes reach the guest; `auto` is 9p in a guest resumed from its snapshot, else virtiofs when the runtime has virtiofsd",
  },
  net: {
    name: "CX_NET", default: "`slirp`", setBy: "user",
    doc: "`slirp` or `passt`: the guest's network backend, both unprivileged. passt moves bulk data about twice as fast and answers small requests about a quarter slower; it needs `--security-opt seccomp=unconfined` (Docker's default profile refuses the user namespace it sandboxes itself in), and where it cannot start slirp serves and the launcher says why",
  },
  snapshot: { name: "CX_SNAPSHOT", default: "`auto`", setBy: "user", doc: "`off`: boot the guest even where the image's build-time snapshot would resume" },
  log: {
    name: "CX_LOG", default: "`quiet`", setBy: "user",
    doc: "what the launcher says on stderr, which `docker logs` shows beside the app's: `quiet` only what differs from what you asked for (a snapshot not resumed and why, a KVM fallback, a volume not shared, a smaller guest) and errors that end the container; `info` also the accelerator, the network, the resume and the volumes; `debug` also the guest's serial console",
  },
  kvmProbeSeconds: { name: "CX_KVM_PROBE_SECONDS", default: "`10`", setBy: "user", doc: "how long a KVM boot may take to reach the agent" },
  entrypoint: {
    name: "CX_ENTRYPOINT", default: "the Cxfile's `entrypoint`", setBy: "image",
    doc: "the guest entrypoint, a JSON array (`docker run --entrypoint` replaces the launcher instead)",
  },
  user: {
    name: "CX_USER", default: "the Cxfile's `user`, else root", setBy: "image",
    doc: "the guest user the app runs as (`user[:group]`, names or numbers); `docker run -u` wins over it",
  },
  powerdownSeconds: {
    name: "CX_POWERDOWN_SECONDS", default: "`5`", setBy: "user",
    doc: "for an OS without the agent: how long `docker stop` waits for the guest to power off after the ACPI request before QEMU is quit",
  },
  gdb: {
    name: "CX_GDB", default: "off (the Cxfile's `guest.gdb`)", setBy: "image",
    doc: "a container port for QEMU's gdb stub: `docker run -p 1234:1234 -e CX_GDB=1234`, then `gdb-multiarch -ex 'target remote :1234'` on the host attaches to the guest's CPU; the snapshot still resumes",
  },
  gdbWait: {
    name: "CX_GDB_WAIT", default: "`0`", setBy: "user",
    doc: "`1`: with `CX_GDB`, the guest stays stopped (at its first instruction, or at the snapshot's instant when it resumes) until the debugger continues it",
  },
  serial: {
    name: "CX_SERIAL", default: "none (the Cxfile's `guest.serial`)", setBy: "image",
    doc: "the guest's serial ports beyond its console, in order, each `tcp:PORT` (a container port for one client at a time, both ways: `docker run -p 4001:4001`) or `file:/PATH` (what the guest writes, into a file of a volume); the guest's names of them are in Guest arches (`ttyAMA1`, `ttyS1`, `hvc0` …). Two resume the snapshot, up to four boot",
  },
  display: {
    name: "CX_DISPLAY", default: "`off` (the Cxfile's `guest.display`)", setBy: "image",
    doc: "`vnc`: the guest gets a screen (a framebuffer, Linux's `/dev/fb0`, a keyboard and a tablet) and QEMU's VNC server listens on container port 5900; `web` also serves noVNC, a VNC client in the browser, on port 6080. Its devices change the machine: a snapshot taken without them boots cold",
  },
  stateDir: {
    name: "CX_STATE_DIR", default: "`/cx/state`, or `/tmp/cx-state` under `docker run -u`", setBy: "user",
    doc: "where the container keeps its writable guest disk, QEMU's sockets and the console log; `docker exec … guest` finds the running guest there",
  },
} as const satisfies Record<string, SettingEntry>;

export type SettingKey = keyof typeof SETTINGS;

/** Control characters escaped and very long words cut: the value a user gave, shown on one readable line. */
const oneLine = (text: string) =>
  text.replace(/[\x00-\x1f\x7f]/g, (c) => JSON.stringify(c).slice(1, -1)).replace(/(\S{60})\S{20,}/g, "$1…");

/** A CX_* value the runtime cannot use; the message, one line, names the variable and what it takes. */
export class SettingsError extends Error {
  constructor(message: string) {
    super(oneLine(message));
    this.name = "SettingsError";
  }
}

/** The README's table of these settings (markdown rows, header included). */
export function settingsTable(): string {
  const rows = Object.values(SETTINGS).map((s: SettingEntry) => `| \`${s.name}\` | ${s.default} | ${s.doc} |`);
  return ["| variable | default | meaning |", "|---|---|---|", ...rows].join("\n") + "\n";
}

/** One of `choices`, from a CX_* variable. */
export function parseEnvChoice<T extends string>(name: string, text: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(text)) throw new SettingsError(`${name}=${text}: expected ${choices.slice(0, -1).join(", ")} or ${choices.at(-1)}`);
  return text as T;
}

/** A whole number within bounds, from a CX_* variable. */
export function parseEnvInteger(name: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text)) throw new SettingsError(`${name}=${text}: expected a whole number`);
  const n = Number(text);
  if (n < min || n > max) throw new SettingsError(`${name}=${text}: must be between ${min} and ${max}`);
  return n;
}
