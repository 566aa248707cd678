import { archForHost, type ArchName } from "../../common/arches.js";
import type { Accel } from "../vm/config.js";

export type AccelSetting = "auto" | Accel;

export interface AccelChoice {
  readonly accel: Accel;
  /** One line for stderr: what was chosen and why. */
  readonly reason: string;
  /** True when KVM is only presumed to work and the boot itself is the probe. */
  readonly probing: boolean;
}

export interface HostFacts {
  /** The host's `uname -m`. */
  readonly machine: string;
  /** Whether /dev/kvm exists and opens read-write. */
  readonly kvmDevice: boolean;
}

/**
 * Picks the accelerator. KVM is tried only when the guest arch is the host's
 * and /dev/kvm opens; even then a boot under KVM that never reaches the agent
 * falls back to TCG (the launcher does that), because /dev/kvm can exist and
 * still be broken.
 */
export function chooseAccel(guest: ArchName, setting: AccelSetting, host: HostFacts): AccelChoice {
  if (setting === "tcg") return { accel: "tcg", reason: "TCG (CX_ACCEL=tcg)", probing: false };
  if (setting === "kvm") return { accel: "kvm", reason: "KVM (CX_ACCEL=kvm)", probing: false };
  const native = archForHost(host.machine);
  if (native !== guest) {
    return { accel: "tcg", reason: `TCG: guest ${guest} differs from host ${host.machine}`, probing: false };
  }
  if (!host.kvmDevice) {
    return { accel: "tcg", reason: "TCG: no usable /dev/kvm in the container (docker run --device /dev/kvm to enable KVM)", probing: false };
  }
  return { accel: "kvm", reason: "KVM: guest arch matches the host and /dev/kvm opens", probing: true };
}
