import { readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { ARCHES, isArchName, type ArchName, type GuestArch } from "../../common/arches.js";
import type { Port } from "../../common/guest-env.js";
import type { SerialBackend } from "../../common/serial-ports.js";
import { hasScreen } from "../../common/display.js";
import { TICK_PARAM, type SharedFolder } from "../agent/protocol.js";
import { LAYOUT, type BaseManifest } from "../../common/layout.js";
import type { GuestSize } from "./guest-size.js";
import type { NetBackend } from "./network.js";
import type { LauncherSettings } from "./settings.js";

export type Accel = "kvm" | "tcg";

/**
 * Everything that shapes the virtual machine. Build-time boots and `docker
 * run` use this one description, so a snapshot taken at build time matches
 * the machine that resumes it.
 */
export interface VmConfig {
  readonly arch: GuestArch;
  /** QEMU machine type and CPU model: the arch table's unless the app chose others. */
  readonly machine: string;
  readonly cpu: string;
  readonly accel: Accel;
  readonly memoryMiB: number;
  readonly cpus: number;
  /** TCG translation cache size; QEMU's default (1 GiB) when absent. */
  readonly tbSizeMiB?: number;
  readonly boot: VmBoot;
  readonly disk: string;
  /** The size `disk` was made at (CX_DISK_SIZE), for the snapshot's identity; QEMU reads the size from the disk itself. */
  readonly diskMiB?: number;
  /** Unix socket the launcher listens on; QEMU connects the agent port to it. Absent for a guest without the agent. */
  readonly agentSocket?: string;
  /** QEMU's monitor (QMP) socket, through which the launcher powers the guest off. */
  readonly qmpSocket: string;
  /**
   * Where the guest's serial console goes: a file, the launcher's stderr, or,
   * for a guest without the agent, QEMU's own stdio (the container's).
   */
  readonly console: { readonly file: string } | "stderr" | "stdio";
  /** Container folders shared with the guest, each under its own tag. */
  readonly shares: readonly HostShare[];
  /**
   * 9p devices every agent guest has from boot, whether or not a volume is
   * there: a guest resumed from a build-time snapshot gets its container's
   * volumes in these, since devices cannot be added to a snapshot. The first
   * 9p shares fill them; an idle one serves `idleShareDir`, an empty folder.
   */
  readonly shareSlots: number;
  readonly idleShareDir: string;
  /** The build-time snapshot this run saves the machine to, or resumes it from instead of booting. */
  readonly snapshot?: SnapshotRun;
  /** Guest ports forwarded from the container's side, by QEMU's slirp or by passt. */
  readonly ports: readonly Port[];
  readonly network: NetBackend;
  readonly extraArgs: readonly string[];
  /** QEMU's gdb stub, for `docker run` only (CX_GDB): QEMU's own, so not part of the machine a snapshot records. */
  readonly gdb?: GdbStub;
  /** Where the guest's serial ports beyond its console go (CX_SERIAL, `docker run` only), in the guest's order (serial-ports.ts). */
  readonly serial: readonly SerialBackend[];
  /**
   * Serial ports every agent guest has from boot, unconnected unless
   * `serial` connects them, so a snapshot's machine has them whatever the
   * container asks: as with volumes' slots, only ports beyond these need a cold boot.
   */
  readonly serialSlots: number;
  /** The machine has a screen: a framebuffer, a keyboard and a tablet (CX_DISPLAY, build and run alike, as they are devices). */
  readonly screen: boolean;
  /** QEMU's VNC server on the screen, for `docker run` only; with `websocket`, also for the launcher's noVNC page. */
  readonly vnc?: VncServer;
}

export interface VncServer {
  readonly websocket: boolean;
}

/** A gdb stub on a container port; with `wait`, the guest stays stopped until the debugger continues it. */
export interface GdbStub {
  readonly port: number;
  readonly wait: boolean;
}

/** A snapshot's files: QEMU's migration stream, and the guest's RAM file (memory.ts). */
export interface SnapshotFiles {
  readonly state: string;
  readonly ram: string;
}

export type SnapshotRun = SnapshotFiles & { readonly mode: "save" | "resume" };

/** The files of the snapshot in `dir`: the image's own unless a bench resumes a copy. */
export const snapshotFiles = (dir: string = LAYOUT.snapshotDir): SnapshotFiles =>
  ({ state: join(dir, basename(LAYOUT.snapshotState)), ram: join(dir, basename(LAYOUT.snapshotRam)) });

/** What QEMU starts: a kernel directly, UEFI firmware from flash, or a firmware image as the machine's BIOS. */
export type VmBoot =
  | { readonly kind: "kernel"; readonly kernel: string; readonly initrd?: string; readonly args: readonly string[] }
  /** `vars` is the guest's own variable store, made from `varsTemplate` on its first boot. */
  | { readonly kind: "uefi"; readonly code: string; readonly vars: string; readonly varsTemplate: string }
  | { readonly kind: "firmware"; readonly image: string };

/** A container folder shared with the guest: by QEMU itself (9p) or by a virtiofsd listening on `socket`. */
export type HostShare = SharedFolder & { readonly hostPath: string } & (
  | { readonly fstype: "9p" }
  | { readonly fstype: "virtiofs"; readonly socket: string }
);

/** The i-th 9p slot's tag: what the guest mounts, so what a volume in that slot is called. */
export const slotTag = (i: number) => `cxvol${i}`;

/** Which 9p shares sit in the slots, and which shares need devices of their own (and so a cold boot). */
export function placeShares(vm: Pick<VmConfig, "shares" | "shareSlots">): { slotted: HostShare[]; extra: HostShare[] } {
  const slotted: HostShare[] = [];
  const extra: HostShare[] = [];
  for (const share of vm.shares) {
    if (share.fstype === "9p" && share.tag === slotTag(slotted.length) && slotted.length < vm.shareSlots) slotted.push(share);
    else extra.push(share);
  }
  return { slotted, extra };
}

/** The image's base manifest, with its arch checked once so the rest can trust it. */
export type GuestBase = BaseManifest & { readonly arch: ArchName };

export class BaseManifestError extends Error {}

export async function readBaseManifest(path: string = LAYOUT.baseManifest): Promise<GuestBase> {
  const manifest = JSON.parse(await readFile(path, "utf8")) as BaseManifest;
  if (!isArchName(manifest.arch)) throw new BaseManifestError(`${path}: unknown guest arch ${manifest.arch}`);
  return { ...manifest, arch: manifest.arch };
}

/** Where a VM runs from: its disk, the launcher's state directory, and what the launcher chose. */
export interface VmPlacement {
  readonly disk: string;
  readonly stateDir: string;
  readonly accel: Accel;
  readonly size: GuestSize;
  readonly shares?: readonly HostShare[];
  /** Where the base's files are; the image's /cx/base unless a builder boots a base from elsewhere. */
  readonly baseDir?: string;
  /** Save the machine to a build-time snapshot, or resume it from one instead of booting. */
  readonly snapshot?: SnapshotRun;
  /** slirp unless the launcher's plan chose passt. */
  readonly network?: NetBackend;
  /** The ports forwarded, when the launcher's plan leaves some of CX_PORTS out. */
  readonly ports?: readonly Port[];
  readonly gdb?: GdbStub;
  readonly serial?: readonly SerialBackend[];
  readonly vnc?: VncServer;
}

/** Volumes a guest resumed from its snapshot can have: each slot is a 9p device in every agent guest. */
export const SHARE_SLOTS = 4;

/** Serial ports a guest resumed from its snapshot can have. */
export const SERIAL_SLOTS = 2;

/** Whether the Containerx agent runs in this base's guest (published bases have it). */
export function hasAgent(base: BaseManifest): boolean {
  return (base.boot?.kind ?? "agent") === "agent";
}

/**
 * How often the agent wakes under TCG while the guest works
 * (guest-agent/protocol.h CX_TICK_PARAM says why; the agent slows to once a
 * second while the guest idles): bench/throughput's CPU-bound program took
 * 558 ms in a cold riscv64 guest with it and 1587 without; in aarch64, where
 * KPTI's flushes had done the same, 904 ms against 1460-1740 with nokaslr
 * alone.
 */
const TCG_TICK_MS = 20;

/** What the agent guest's kernel is told under TCG, beside the base's arguments. */
const tcgKernelArgs = (arch: GuestArch) => [...(arch.tcgKernelArgs ?? []), `${TICK_PARAM}=${TCG_TICK_MS}`];

function vmBoot(base: GuestBase, settings: LauncherSettings, accel: Accel, baseDir: string, stateDir: string): VmBoot {
  const boot = base.boot ?? { kind: "agent" };
  const file = (path: string) => join(baseDir, basename(path));
  switch (boot.kind) {
    case "agent":
    case "kernel":
      return {
        kind: "kernel",
        kernel: file(LAYOUT.baseKernel),
        ...(boot.kind === "agent" || boot.initrd ? { initrd: file(LAYOUT.baseInitrd) } : {}),
        args: [...base.kernelArgs, ...(boot.kind === "agent" && accel === "tcg" ? tcgKernelArgs(ARCHES[base.arch]) : []), ...settings.kernelArgs],
      };
    case "uefi":
      return {
        kind: "uefi",
        code: join(LAYOUT.uefiDir, base.arch, "code.qcow2"),
        varsTemplate: join(LAYOUT.uefiDir, base.arch, "vars.qcow2"),
        vars: join(stateDir, "uefi-vars.qcow2"),
      };
    case "firmware":
      return { kind: "firmware", image: file(LAYOUT.baseFirmware) };
  }
}

/**
 * The one VmConfig for a guest base and settings: `docker run` and the
 * build-time run steps both call this, so they boot the same machine.
 */
export function vmConfigFor(base: GuestBase, settings: LauncherSettings, place: VmPlacement): VmConfig {
  const arch: GuestArch = ARCHES[base.arch];
  const { disk, stateDir, accel, size } = place;
  const agent = hasAgent(base);
  return {
    arch,
    machine: settings.machine ?? arch.machine,
    cpu: settings.cpu ?? arch.cpu,
    accel,
    memoryMiB: size.memoryMiB,
    cpus: size.cpus,
    ...(size.tbSizeMiB === undefined ? {} : { tbSizeMiB: size.tbSizeMiB }),
    boot: vmBoot(base, settings, accel, place.baseDir ?? LAYOUT.baseDir, stateDir),
    disk,
    ...(settings.diskMiB === undefined ? {} : { diskMiB: settings.diskMiB }),
    ...(agent ? { agentSocket: join(stateDir, "agent.sock") } : {}),
    qmpSocket: join(stateDir, "qmp.sock"),
    console: !agent ? "stdio" : settings.log === "debug" ? "stderr" : { file: join(stateDir, "console.log") },
    shares: place.shares ?? [],
    shareSlots: agent ? SHARE_SLOTS : 0,
    idleShareDir: join(stateDir, "no-volume"),
    ports: place.ports ?? settings.ports,
    network: place.network ?? "slirp",
    extraArgs: settings.qemuArgs,
    ...(place.snapshot ? { snapshot: place.snapshot } : {}),
    ...(place.gdb ? { gdb: place.gdb } : {}),
    serial: place.serial ?? [],
    serialSlots: agent ? SERIAL_SLOTS : 0,
    screen: hasScreen(settings.display),
    ...(place.vnc ? { vnc: place.vnc } : {}),
  };
}
