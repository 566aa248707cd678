import { readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { ARCHES, isArchName, type ArchName } from "../../common/arches.js";
import { LAYOUT, type BaseManifest } from "../../common/layout.js";
import type { GuestSize } from "./guest-size.js";
import type { Accel, HostShare, VmBoot, VmConfig } from "./qemu-args.js";
import type { LauncherSettings } from "./settings.js";

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
  /** Resume from this migration stream (a build-time snapshot) instead of booting. */
  readonly incoming?: string;
}

/** Volumes a guest resumed from its snapshot can have: each slot is a 9p device in every agent guest. */
export const SHARE_SLOTS = 4;

/** Whether the Containerx agent runs in this base's guest (published bases have it). */
export function hasAgent(base: BaseManifest): boolean {
  return (base.boot?.kind ?? "agent") === "agent";
}

function vmBoot(base: GuestBase, settings: LauncherSettings, baseDir: string, stateDir: string): VmBoot {
  const boot = base.boot ?? { kind: "agent" };
  const file = (path: string) => join(baseDir, basename(path));
  switch (boot.kind) {
    case "agent":
    case "kernel":
      return {
        kind: "kernel",
        kernel: file(LAYOUT.baseKernel),
        ...(boot.kind === "agent" || boot.initrd ? { initrd: file(LAYOUT.baseInitrd) } : {}),
        args: [...base.kernelArgs, ...settings.kernelArgs],
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
  const arch = ARCHES[base.arch];
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
    boot: vmBoot(base, settings, place.baseDir ?? LAYOUT.baseDir, stateDir),
    disk,
    ...(settings.diskMiB === undefined ? {} : { diskMiB: settings.diskMiB }),
    ...(agent ? { agentSocket: join(stateDir, "agent.sock") } : {}),
    qmpSocket: join(stateDir, "qmp.sock"),
    console: !agent ? "stdio" : settings.log === "debug" ? "stderr" : { file: join(stateDir, "console.log") },
    shares: place.shares ?? [],
    shareSlots: agent ? SHARE_SLOTS : 0,
    idleShareDir: join(stateDir, "no-volume"),
    ports: settings.ports,
    extraArgs: settings.qemuArgs,
    ...(place.incoming ? { incoming: place.incoming } : {}),
  };
}
