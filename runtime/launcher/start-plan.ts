/**
 * How a container starts, decided once from facts gathered once: resume the
 * image's build-time snapshot or boot (and why not resume), how volumes
 * reach the guest, the network backend and its ports, and the accelerator.
 * Pure, so each branch has a unit test; main.ts gathers the facts and
 * carries the plan out. The only decisions left for later are the fallbacks from KVM and from
 * passt, which need a start to judge.
 */
import { ARCHES, type ArchName } from "../../common/arches.js";
import { chooseAccel, type AccelChoice, type HostFacts } from "./accel.js";
import type { HostShare, VmConfig } from "../vm/config.js";
import type { LauncherSettings } from "../vm/settings.js";
import { resumeBlocker, volumesBlocker, type SnapshotManifest, type UnusableSnapshot } from "../vm/snapshot.js";
import { chooseNet, type NetChoice, type NetFacts } from "../vm/network.js";
import { chooseVolumeFs, type VolumeFsChoice } from "../vm/virtiofsd.js";
import { volumeShares, type VolumeMount } from "./volumes.js";
import { choosePorts, type PortChoice } from "./ports.js";

export interface StartFacts {
  readonly arch: ArchName;
  readonly settings: LauncherSettings;
  /** The image's snapshot (vm/snapshot.ts readSnapshot): its manifest, why it cannot be used, or undefined when it has none. */
  readonly snapshot: SnapshotManifest | UnusableSnapshot | undefined;
  /** Whether this container has no disk of its own yet (its first start). */
  readonly firstStart: boolean;
  /** The runtime's QEMU package version (snapshots load only into the QEMU that wrote them). */
  readonly qemuVersion: string;
  readonly virtiofsd: boolean;
  /** The container's volume mounts, in mount order. */
  readonly mounts: readonly VolumeMount[];
  readonly host: HostFacts;
  /** Where virtiofsd's sockets go. */
  readonly stateDir: string;
  /** Read only when CX_NET=passt asks for them. */
  readonly net?: NetFacts;
  /** The lowest port the container's user may listen on (ports.ts). */
  readonly lowestListenPort: number;
}

/** The VM a plan would run, booted or resumed from the image's snapshot, from the launcher's placement (vm/config.ts vmConfigFor). */
export type VmFor = (accel: "kvm" | "tcg", shares: readonly HostShare[], resume?: boolean) => VmConfig;

export type ResumeChoice = { readonly resume: true; readonly snapshot: SnapshotManifest } | { readonly resume: false; readonly whyCold?: string };

export interface StartPlan {
  readonly accel: AccelChoice;
  readonly start: ResumeChoice;
  readonly volumeFs: VolumeFsChoice;
  readonly shares: readonly HostShare[];
  /** Mounts that cannot be shared (single files), for a note. */
  readonly skipped: readonly string[];
  readonly net: NetChoice;
  readonly ports: PortChoice;
}

/** Whether the snapshot could be resumed, before the volumes are looked at. */
function resumeBeforeVolumes(f: StartFacts, vmFor: VmFor, accel: AccelChoice): ResumeChoice {
  const snapshot = f.snapshot;
  if (!snapshot) return { resume: false };
  if ("problem" in snapshot) return { resume: false, whyCold: snapshot.problem };
  if (f.settings.snapshot === "off") return { resume: false, whyCold: "CX_SNAPSHOT=off" };
  // The snapshot's page cache and mounts belong to the disk as it was built.
  if (!f.firstStart) return { resume: false, whyCold: "this container ran before, and its disk has moved on from the snapshot's" };
  const blocker = resumeBlocker(snapshot, vmFor(accel.accel, [], true), f.qemuVersion);
  return blocker ? { resume: false, whyCold: blocker } : { resume: true, snapshot };
}

export function planStart(f: StartFacts, vmFor: VmFor): StartPlan {
  const accel = chooseAccel(f.arch, f.settings.accel, f.host);
  const volumesBy = (resumable: boolean) => {
    const volumeFs = chooseVolumeFs(f.settings.volumeFs, f.virtiofsd, ARCHES[f.arch], resumable);
    return { volumeFs, ...volumeShares(f.mounts, volumeFs.fstype === "9p" ? { fstype: "9p" } : { fstype: "virtiofs", socketDir: f.stateDir }) };
  };
  const start = resumeBeforeVolumes(f, vmFor, accel);
  const volumes = volumesBy(start.resume);
  // A resumed guest has only its snapshot's 9p slots: volumes that do not fit make it boot.
  const blocker = start.resume ? volumesBlocker(vmFor(accel.accel, volumes.shares, true)) : undefined;
  return { accel, start: blocker ? { resume: false, whyCold: blocker } : start, ...volumes, net: chooseNet(f.settings.net, f.net),
    ports: choosePorts(f.settings.ports, f.lowestListenPort) };
}
