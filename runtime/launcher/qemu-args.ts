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
  /** A migration stream to resume the machine from instead of booting it. */
  readonly incoming?: string;
  /** Guest ports QEMU listens for on the container's side. */
  readonly ports: readonly Port[];
  readonly extraArgs: readonly string[];
}

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

/** QEMU's option values escape a comma by doubling it. */
const optionValue = (text: string) => text.replace(/,/g, ",,");

/** The i-th 9p slot's tag: what the guest mounts, so what a volume in that slot is called. */
export const slotTag = (i: number) => `cxvol${i}`;

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

function sharesArgs(vm: VmConfig): string[] {
  const { slotted, extra } = placeShares(vm);
  const slots = Array.from({ length: vm.shareSlots }, (_, i): HostShare =>
    slotted[i] ?? { fstype: "9p", tag: slotTag(i), hostPath: vm.idleShareDir, guestPath: "" });
  return [...slots, ...extra].flatMap(shareArgs);
}

function bootArgs(boot: VmBoot): string[] {
  switch (boot.kind) {
    case "kernel":
      return ["-kernel", boot.kernel, ...(boot.initrd ? ["-initrd", boot.initrd] : []), "-append", boot.args.join(" ")];
    case "uefi":
      return ["-drive", `if=pflash,unit=0,format=qcow2,readonly=on,file=${optionValue(boot.code)}`,
        "-drive", `if=pflash,unit=1,format=qcow2,file=${optionValue(boot.vars)}`];
    case "firmware":
      return ["-bios", boot.image];
  }
}

function consoleChardev(console: VmConfig["console"]): string {
  // signal=off: Ctrl-C on a container terminal is the guest's, not QEMU's.
  if (console === "stderr" || console === "stdio") return `stdio,id=${ID.console},signal=off`;
  return `file,id=${ID.console},path=${optionValue(console.file)}`;
}

function agentArgs(socket: string | undefined): string[] {
  if (!socket) return [];
  return ["-device", `virtio-serial-pci,id=${ID.serial}`,
    "-chardev", `socket,id=${ID.agent},path=${optionValue(socket)}`,
    "-device", `virtserialport,bus=${ID.serial}.0,chardev=${ID.agent},name=cx.agent`];
}

/** The QEMU command line for a VmConfig. Pure: no probing, no file access. */
export function buildQemuArgs(vm: VmConfig): { binary: string; args: string[] } {
  const accel = vm.accel === "kvm" ? "kvm"
    : ["tcg", ...(vm.cpus > 1 ? ["thread=multi"] : []), ...(vm.tbSizeMiB ? [`tb-size=${vm.tbSizeMiB}`] : [])].join(",");
  const hostfwd = vm.ports.map((p) => `,hostfwd=${p.protocol}::${p.port}-:${p.port}`).join("");
  // Under KVM the table's model would be emulated needlessly; an app's own choice is kept.
  const cpu = vm.accel === "kvm" && vm.cpu === vm.arch.cpu ? "host" : vm.cpu;
  const own = vm.machine === vm.arch.machine ? vm.arch.machineOptions : undefined;
  const machineOptions = [...(vm.accel === "tcg" ? own?.tcg ?? [] : []), ...(vm.boot.kind === "kernel" ? own?.kernelBoot ?? [] : [])];
  const args = [
    "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
    // virtiofsd maps guest RAM, so with virtiofs volumes it is a shareable
    // memfd. Otherwise it is private: QEMU resuming a snapshot zero-fills
    // untouched RAM cheaply there, at a third of a memfd's cost. The id is
    // the same either way, so a snapshot taken with one resumes into the other.
    "-object", vm.shares.some((s) => s.fstype === "virtiofs")
      ? `memory-backend-memfd,id=${ID.ram},size=${vm.memoryMiB}M,share=on`
      : `memory-backend-ram,id=${ID.ram},size=${vm.memoryMiB}M`,
    "-machine", [vm.machine, ...machineOptions, `memory-backend=${ID.ram}`].join(","),
    "-accel", accel,
    "-cpu", cpu,
    "-m", `${vm.memoryMiB}M`,
    "-smp", String(vm.cpus),
    ...bootArgs(vm.boot),
    "-chardev", consoleChardev(vm.console),
    "-serial", `chardev:${ID.console}`,
    "-qmp", `unix:${optionValue(vm.qmpSocket)},server=on,wait=off`,
    "-drive", `if=none,id=${ID.disk},file=${optionValue(vm.disk)},format=qcow2,discard=unmap`,
    // Firmware boots the disk first rather than trying the network. A direct
    // kernel boot has its own entry (on x86 the linuxboot ROM holds index 0).
    "-device", `virtio-blk-pci,drive=${ID.disk}${vm.boot.kind === "kernel" ? "" : ",bootindex=0"}`,
    ...agentArgs(vm.agentSocket),
    // User-mode networking: the guest reaches what the container reaches, with
    // no privileges. No option ROM: the kernel is booted directly, not over PXE.
    "-netdev", `user,id=${ID.net}${hostfwd}`,
    "-device", `virtio-net-pci,netdev=${ID.net},romfile=`,
    ...sharesArgs(vm),
    ...vm.extraArgs,
    ...(vm.incoming ? ["-incoming", `file:${vm.incoming}`] : []),
  ];
  return { binary: vm.arch.qemuBinary, args };
}
