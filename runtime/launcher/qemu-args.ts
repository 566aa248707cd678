import type { GuestArch } from "../../common/arches.js";
import type { Port } from "../../common/guest-env.js";
import { QEMU_IDS as ID, shareId } from "../../common/qemu-options.js";
import type { SharedFolder } from "./agent-protocol.js";

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
  readonly kernel: string;
  readonly initrd: string;
  readonly kernelArgs: readonly string[];
  readonly disk: string;
  /** Unix socket the launcher listens on; QEMU connects the agent port to it. */
  readonly agentSocket: string;
  /** Where the guest's serial console goes: a file, or the launcher's stderr. */
  readonly console: { readonly file: string } | "stderr";
  /** Container folders shared with the guest, each under its own tag. */
  readonly shares: readonly HostShare[];
  /** Guest ports QEMU listens for on the container's side. */
  readonly ports: readonly Port[];
  readonly extraArgs: readonly string[];
}

/** A container folder shared with the guest: by QEMU itself (9p) or by a virtiofsd listening on `socket`. */
export type HostShare = SharedFolder & { readonly hostPath: string } & (
  | { readonly fstype: "9p" }
  | { readonly fstype: "virtiofs"; readonly socket: string }
);

/** QEMU's option values escape a comma by doubling it. */
const optionValue = (text: string) => text.replace(/,/g, ",,");

function shareArgs(share: HostShare, i: number): string[] {
  const id = shareId(i);
  if (share.fstype === "virtiofs") {
    return ["-chardev", `socket,id=${id},path=${optionValue(share.socket)}`,
      "-device", `vhost-user-fs-pci,chardev=${id},tag=${share.tag}`];
  }
  // passthrough: the guest's owners and modes land on the host as they are, as with a container's writes.
  return ["-fsdev", `local,id=${id},path=${optionValue(share.hostPath)},security_model=passthrough`,
    "-device", `virtio-9p-pci,fsdev=${id},mount_tag=${share.tag}`];
}

/** The QEMU command line for a VmConfig. Pure: no probing, no file access. */
export function buildQemuArgs(vm: VmConfig): { binary: string; args: string[] } {
  const accel = vm.accel === "kvm" ? "kvm"
    : ["tcg", ...(vm.cpus > 1 ? ["thread=multi"] : []), ...(vm.tbSizeMiB ? [`tb-size=${vm.tbSizeMiB}`] : [])].join(",");
  const hostfwd = vm.ports.map((p) => `,hostfwd=${p.protocol}::${p.port}-:${p.port}`).join("");
  // Under KVM the table's model would be emulated needlessly; an app's own choice is kept.
  const cpu = vm.accel === "kvm" && vm.cpu === vm.arch.cpu ? "host" : vm.cpu;
  const consoleDev = vm.console === "stderr" ? `stdio,id=${ID.console},signal=off` : `file,id=${ID.console},path=${vm.console.file}`;
  const args = [
    "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
    // Guest RAM is always a shareable memfd, with or without virtiofs volumes,
    // so the machine is the same whatever a container mounts.
    "-object", `memory-backend-memfd,id=${ID.ram},size=${vm.memoryMiB}M,share=on`,
    "-machine", `${vm.machine},memory-backend=${ID.ram}`,
    "-accel", accel,
    "-cpu", cpu,
    "-m", `${vm.memoryMiB}M`,
    "-smp", String(vm.cpus),
    "-kernel", vm.kernel,
    "-initrd", vm.initrd,
    "-append", vm.kernelArgs.join(" "),
    "-chardev", consoleDev,
    "-serial", `chardev:${ID.console}`,
    "-drive", `if=none,id=${ID.disk},file=${vm.disk},format=qcow2,discard=unmap`,
    "-device", `virtio-blk-pci,drive=${ID.disk}`,
    "-device", `virtio-serial-pci,id=${ID.serial}`,
    "-chardev", `socket,id=${ID.agent},path=${vm.agentSocket}`,
    "-device", `virtserialport,bus=${ID.serial}.0,chardev=${ID.agent},name=cx.agent`,
    // User-mode networking: the guest reaches what the container reaches, with
    // no privileges. No option ROM: the kernel is booted directly, not over PXE.
    "-netdev", `user,id=${ID.net}${hostfwd}`,
    "-device", `virtio-net-pci,netdev=${ID.net},romfile=`,
    ...vm.shares.flatMap(shareArgs),
    ...vm.extraArgs,
  ];
  return { binary: vm.arch.qemuBinary, args };
}
