import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ARCHES, isArchName, type ArchName } from "../../common/arches.js";
import { LAYOUT, type BaseManifest } from "../../common/layout.js";
import type { GuestSize } from "./guest-size.js";
import type { Accel, HostShare, VmConfig } from "./qemu-args.js";
import type { LauncherSettings } from "./settings.js";

/** The image's base manifest, with its arch checked once so the rest can trust it. */
export type GuestBase = BaseManifest & { readonly arch: ArchName };

export class BaseManifestError extends Error {}

export async function readBaseManifest(path: string = LAYOUT.baseManifest): Promise<GuestBase> {
  const manifest = JSON.parse(await readFile(path, "utf8")) as BaseManifest;
  if (!isArchName(manifest.arch)) throw new BaseManifestError(`${path}: unknown guest arch ${manifest.arch}`);
  return { ...manifest, arch: manifest.arch };
}

/**
 * The one VmConfig for a guest base and settings: `docker run` and the
 * build-time run steps both call this, so they boot the same machine.
 */
export interface VmPlacement {
  readonly disk: string;
  readonly stateDir: string;
  readonly accel: Accel;
  readonly size: GuestSize;
  readonly shares?: readonly HostShare[];
}

export function vmConfigFor(base: GuestBase, settings: LauncherSettings, place: VmPlacement): VmConfig {
  const arch = ARCHES[base.arch];
  const { disk, stateDir, accel, size } = place;
  return {
    arch,
    machine: settings.machine ?? arch.machine,
    cpu: settings.cpu ?? arch.cpu,
    accel,
    memoryMiB: size.memoryMiB,
    cpus: size.cpus,
    ...(size.tbSizeMiB === undefined ? {} : { tbSizeMiB: size.tbSizeMiB }),
    kernel: LAYOUT.baseKernel,
    initrd: LAYOUT.baseInitrd,
    kernelArgs: [...base.kernelArgs, ...settings.kernelArgs],
    disk,
    agentSocket: join(stateDir, "agent.sock"),
    console: settings.debugConsole ? "stderr" : { file: join(stateDir, "console.log") },
    shares: place.shares ?? [],
    ports: settings.ports,
    extraArgs: settings.qemuArgs,
  };
}
