/**
 * The build-time snapshot of an image's guest: the machine booted to the
 * point where the agent waits for the app (QEMU's migration stream and the
 * RAM file it leaves out, migration.ts), the disk it was taken with, and the
 * machine it belongs to. The launcher resumes it only
 * into that same machine; anything else boots cold.
 */
import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { LAYOUT } from "../../common/layout.js";
import { placeShares, snapshotFiles, type SnapshotFiles, type VmConfig } from "./config.js";
import { buildQemuArgs } from "./qemu-args.js";
import { SHARE_SLOTS } from "./config.js";

/** What shapes the machine a snapshot holds, and so must be equal to resume it. */
export interface MachineIdentity {
  readonly accel: VmConfig["accel"];
  readonly machine: string;
  readonly cpu: string;
  readonly memoryMiB: number;
  readonly cpus: number;
  readonly kernelArgs: readonly string[];
  readonly extraArgs: readonly string[];
  /** CX_DISK_SIZE as the disk was made; absent, the image's own size. */
  readonly diskMiB?: number;
  /** The screen's devices (CX_DISPLAY); absent, none. */
  readonly screen?: boolean;
  /**
   * The whole QEMU command line with what is only the container's side (disk
   * file, sockets, console, forwarded ports, volumes' folders) left out: the
   * catch-all for what the named fields do not cover.
   */
  readonly qemuArgs: readonly string[];
}

/**
 * The two files a resume loads, as the build wrote them. The state is hashed
 * (under a megabyte): QEMU would load a flipped bit into a device register.
 * The RAM file, the guest's whole memory, is only sized: hashing it would cost
 * more than the resume saves, and its bytes are the image layer's, checked
 * against the layer digest when the image is pulled or unpacked.
 */
export interface SnapshotFileFacts {
  readonly stateBytes: number;
  readonly stateSha256: string;
  readonly ramBytes: number;
}

/** snapshot.json, beside the state it describes. */
export interface SnapshotManifest {
  /** The runtime's QEMU package version: migration streams are only sure to load into the QEMU that wrote them. */
  readonly qemuVersion: string;
  /** The ready frame's text of the agent in the snapshot, which never says it again. */
  readonly agentVersion: string;
  readonly identity: MachineIdentity;
  /** Seconds the build-time boot took to reach the agent: what a resume saves. */
  readonly bootSeconds: number;
  readonly files: SnapshotFileFacts;
}

/** A snapshot the launcher will not resume whatever the container asks: its reason. */
export interface UnusableSnapshot {
  readonly problem: string;
}

export async function snapshotFileFacts(files: SnapshotFiles): Promise<SnapshotFileFacts> {
  const state = await readFile(files.state);
  return { stateBytes: state.length, stateSha256: createHash("sha256").update(state).digest("hex"), ramBytes: (await stat(files.ram)).size };
}

/** How the files differ from the build's, for a one-line note; undefined when they match. */
export function snapshotDamage(built: SnapshotFileFacts, now: SnapshotFileFacts | string): string | undefined {
  if (typeof now === "string") return `its files cannot be read (${now})`;
  if (now.ramBytes !== built.ramBytes) return `its RAM file is ${now.ramBytes} bytes, the build wrote ${built.ramBytes}`;
  if (now.stateBytes !== built.stateBytes) return `its state file is ${now.stateBytes} bytes, the build wrote ${built.stateBytes}`;
  if (now.stateSha256 !== built.stateSha256) return "its state file's sha256 differs from the build's";
  return undefined;
}

export function machineIdentity(vm: VmConfig): MachineIdentity {
  // The translation cache's size (smaller under a memory limit), the gdb stub and the VNC server are QEMU's own, not the guest's: a resume may differ in them.
  const { snapshot: _savedOrResumed, tbSizeMiB: _hostSide, gdb: _debugger, vnc: _viewer, ...machine } = vm;
  const containerSide: VmConfig = {
    ...machine,
    disk: "disk",
    ...(vm.agentSocket ? { agentSocket: "agent" } : {}),
    qmpSocket: "qmp",
    console: "stderr",
    ports: [],
    // Either backend gives a resumed guest its link (network.ts).
    network: "slirp",
    shares: [],
    idleShareDir: "idle",
    // Where the serial ports go is the container's; how many there are is the machine's.
    serial: [],
    serialSlots: Math.max(vm.serialSlots, vm.serial.length),
  };
  return {
    accel: vm.accel,
    machine: vm.machine,
    cpu: vm.cpu,
    memoryMiB: vm.memoryMiB,
    cpus: vm.cpus,
    kernelArgs: vm.boot.kind === "kernel" ? vm.boot.args : [],
    extraArgs: vm.extraArgs,
    ...(vm.diskMiB === undefined ? {} : { diskMiB: vm.diskMiB }),
    ...(vm.screen ? { screen: true } : {}),
    qemuArgs: buildQemuArgs(containerSide).args,
  };
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Why `vm`'s machine cannot resume `snapshot`, in words for a one-line note;
 * undefined when it can. Each reason names the setting that usually causes
 * it. Volumes are volumesBlocker's.
 */
export function resumeBlocker(snapshot: SnapshotManifest, vm: VmConfig, qemuVersion: string): string | undefined {
  const want = snapshot.identity;
  const have = machineIdentity(vm);
  if (snapshot.qemuVersion !== qemuVersion) return `the snapshot was taken with QEMU ${snapshot.qemuVersion}, this runtime has ${qemuVersion}`;
  if (have.accel !== want.accel) return `the snapshot was taken under ${want.accel.toUpperCase()}, and this guest runs under ${have.accel.toUpperCase()}`;
  if (have.memoryMiB !== want.memoryMiB) return `the guest gets ${have.memoryMiB}M of memory (CX_MEMORY, or the container's memory limit), the snapshot has ${want.memoryMiB}M`;
  if (have.cpus !== want.cpus) return `the guest gets ${have.cpus} CPUs (CX_CPUS, or the container's CPU limit), the snapshot has ${want.cpus}`;
  if (have.machine !== want.machine || have.cpu !== want.cpu) return `the machine is ${have.machine}/${have.cpu} (CX_MACHINE, CX_CPU), the snapshot's is ${want.machine}/${want.cpu}`;
  if (have.diskMiB !== want.diskMiB) {
    const size = (mib: number | undefined) => (mib === undefined ? "the image's size" : `${mib}M`);
    return `the guest disk is ${size(have.diskMiB)} (CX_DISK_SIZE), the snapshot's is ${size(want.diskMiB)}`;
  }
  if (Boolean(have.screen) !== Boolean(want.screen)) {
    return have.screen ? "the screen's devices (CX_DISPLAY) are not in the snapshot's machine" : "the snapshot's machine has a screen, and CX_DISPLAY=off leaves it out";
  }
  if (!sameList(have.kernelArgs, want.kernelArgs)) return `the kernel command line differs from the snapshot's (CX_KERNEL_ARGS)`;
  if (!sameList(have.extraArgs, want.extraArgs)) return `the extra QEMU arguments differ from the snapshot's (CX_QEMU_ARGS)`;
  if (vm.serial.length > vm.serialSlots) return `a resumed guest has ${vm.serialSlots} serial ports beyond its console, and CX_SERIAL asks for ${vm.serial.length}`;
  if (!sameList(have.qemuArgs, want.qemuArgs)) {
    return `the QEMU command line differs from the snapshot's (at ${have.qemuArgs.find((arg, i) => arg !== want.qemuArgs[i]) ?? "its end"})`;
  }
  return undefined;
}

/** Why the container's volumes keep `vm` from resuming a snapshot: the snapshot's machine has only its 9p slots for them. */
export function volumesBlocker(vm: VmConfig): string | undefined {
  const { extra } = placeShares(vm);
  if (extra.some((s) => s.fstype === "virtiofs")) return "virtiofs volumes need devices the snapshot does not have (CX_VOLUME_FS=9p resumes)";
  if (extra.length) return `a resumed guest has room for ${SHARE_SLOTS} volumes, and this container has ${vm.shares.length}`;
  return undefined;
}

/** snapshot.json checked once: a file from another version of Containerx is a reason to boot, not a crash. */
export function parseSnapshotManifest(text: string): SnapshotManifest | undefined {
  let m: Partial<SnapshotManifest> & { identity?: Partial<MachineIdentity> };
  try {
    m = JSON.parse(text) as typeof m;
  } catch {
    return undefined;
  }
  const id = m.identity;
  const strings = (list: unknown) => Array.isArray(list) && list.every((x) => typeof x === "string");
  const ok = typeof m.qemuVersion === "string" && typeof m.agentVersion === "string" && typeof m.bootSeconds === "number" && id !== undefined &&
    (id.accel === "tcg" || id.accel === "kvm") && typeof id.machine === "string" && typeof id.cpu === "string" &&
    typeof id.memoryMiB === "number" && typeof id.cpus === "number" && strings(id.kernelArgs) && strings(id.extraArgs) && strings(id.qemuArgs) &&
    (id.diskMiB === undefined || typeof id.diskMiB === "number") && (id.screen === undefined || typeof id.screen === "boolean") &&
    typeof m.files?.stateBytes === "number" && typeof m.files.stateSha256 === "string" && typeof m.files.ramBytes === "number";
  return ok ? (m as SnapshotManifest) : undefined;
}

/**
 * The image's snapshot; undefined when it has none, its problem when this
 * runtime cannot read snapshot.json or the files differ from the build's.
 */
export async function readSnapshot(dir: string = LAYOUT.snapshotDir): Promise<SnapshotManifest | UnusableSnapshot | undefined> {
  const manifestPath = join(dir, basename(LAYOUT.snapshotManifest));
  const text = await readFile(manifestPath, "utf8").catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return undefined;
    throw err;
  });
  if (text === undefined) return undefined;
  const manifest = parseSnapshotManifest(text);
  if (!manifest) return { problem: `${manifestPath} is not one this runtime can read` };
  const now = await snapshotFileFacts(snapshotFiles(dir)).catch((err: NodeJS.ErrnoException) => err.code ?? String(err));
  const damage = snapshotDamage(manifest.files, now);
  return damage ? { problem: `the snapshot is damaged: ${damage}` } : manifest;
}

/** The runtime's QEMU version, written into its image when it was built. */
export async function runtimeQemuVersion(path: string = LAYOUT.qemuVersion): Promise<string> {
  return (await readFile(path, "utf8")).trim();
}
