import { virtioDevice, type GuestArch } from "../../common/arches.js";
import { QEMU_IDS as ID, optionValue, serialId, shareId } from "../../common/qemu-options.js";
import { machineUarts, type SerialBackend } from "../../common/serial-ports.js";
import { VNC_DISPLAY, VNC_WEBSOCKET_PORT } from "../../common/display.js";
import { placeShares, slotTag, type HostShare, type VmBoot, type VmConfig } from "./config.js";
import { memoryArgs, type RamBacking } from "./memory.js";
import { netdevArgs } from "./network.js";

function shareArgs(arch: GuestArch, share: HostShare, i: number): string[] {
  const id = shareId(i);
  if (share.fstype === "virtiofs") {
    return ["-chardev", `socket,id=${id},path=${optionValue(share.socket)}`,
      "-device", `${virtioDevice(arch, "vhost-user-fs")},chardev=${id},tag=${share.tag}`];
  }
  // passthrough: the guest's owners and modes land on the host as they are, as with a container's writes.
  return ["-fsdev", `local,id=${id},path=${optionValue(share.hostPath)},security_model=passthrough`,
    "-device", `${virtioDevice(arch, "virtio-9p")},fsdev=${id},mount_tag=${share.tag}`];
}

function sharesArgs(vm: VmConfig): string[] {
  const { slotted, extra } = placeShares(vm);
  const slots = Array.from({ length: vm.shareSlots }, (_, i): HostShare =>
    slotted[i] ?? { fstype: "9p", tag: slotTag(i), hostPath: vm.idleShareDir, guestPath: "" });
  return [...slots, ...extra].flatMap((share, i) => shareArgs(vm.arch, share, i));
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

function serialBackend(port: SerialBackend | undefined, i: number): string {
  if (!port) return `null,id=${serialId(i)}`;
  // Every IPv4 address of the container, where `docker run -p` forwards; appended, so a restarted container's file keeps what came before.
  if (port.kind === "tcp") return `socket,id=${serialId(i)},host=0.0.0.0,port=${port.port},server=on,wait=off,nodelay=on`;
  return `file,id=${serialId(i)},path=${optionValue(port.path)},append=on`;
}

/** The serial ports beyond the console, slots included: what each connects to, and the machine's UARTs among them (further `-serial`s). */
function serialArgs(vm: VmConfig): { backends: string[]; uarts: string[]; consoles: number[] } {
  const count = Math.max(vm.serialSlots, vm.serial.length);
  const uarts = machineUarts(vm.arch, vm.machine, count);
  const all = Array.from({ length: count }, (_, i) => i);
  return {
    backends: all.flatMap((i) => ["-chardev", serialBackend(vm.serial[i], i)]),
    uarts: all.slice(0, uarts).flatMap((i) => ["-serial", `chardev:${serialId(i)}`]),
    consoles: all.slice(uarts),
  };
}

/** The virtio-serial device with the agent's port and the serial ports that are virtio consoles. */
function virtioSerialArgs(vm: VmConfig, consoles: readonly number[]): string[] {
  if (!vm.agentSocket && !consoles.length) return [];
  return ["-device", `${virtioDevice(vm.arch, "virtio-serial")},id=${ID.serial}`,
    ...(vm.agentSocket ? ["-chardev", `socket,id=${ID.agent},path=${optionValue(vm.agentSocket)}`,
      "-device", `virtserialport,bus=${ID.serial}.0,chardev=${ID.agent},name=cx.agent`] : []),
    ...consoles.flatMap((i) => ["-device", `virtconsole,bus=${ID.serial}.0,chardev=${serialId(i)}`])];
}

// virtiofsd maps guest RAM, so with virtiofs volumes it is a shareable memfd;
// otherwise it is private. A snapshot's RAM is its file (memory.ts).
function ramBacking(vm: VmConfig): RamBacking {
  if (vm.snapshot) return { file: vm.snapshot.ram, mode: vm.snapshot.mode };
  return vm.shares.some((s) => s.fstype === "virtiofs") ? "shared" : "private";
}

/**
 * What QEMU loads to start the guest. A resumed guest's kernel and initrd are
 * in its RAM already; firmware and flash stay, as they are devices' memory.
 */
const startArgs = (vm: VmConfig) => (vm.snapshot?.mode === "resume" && vm.boot.kind === "kernel" ? [] : bootArgs(vm.boot));

/**
 * The gdb stub on every address of the container, where `docker run -p`
 * reaches it. A waiting boot starts stopped (-S); a resumed guest is stopped
 * anyway until the launcher continues it, which it leaves to the debugger.
 */
function gdbArgs(vm: VmConfig): string[] {
  if (!vm.gdb) return [];
  return ["-gdb", `tcp::${vm.gdb.port}`, ...(vm.gdb.wait && vm.snapshot?.mode !== "resume" ? ["-S"] : [])];
}

/**
 * The screen's devices: a display whose framebuffer is its own memory (the
 * arch's, else bochs-display: Linux's bochs driver serves both), without the
 * VGA BIOS the runtime does not ship, which Linux does not need; and a
 * keyboard and a tablet (an absolute pointer, as VNC's is).
 */
function screenArgs(vm: VmConfig): string[] {
  if (!vm.screen) return [];
  return ["-device", `${vm.arch.screenDevice ?? "bochs-display"},romfile=`,
    "-device", virtioDevice(vm.arch, "virtio-keyboard"), "-device", virtioDevice(vm.arch, "virtio-tablet")];
}

/** QEMU's VNC server on every IPv4 address of the container, and its websocket for the launcher's page on the container's loopback only. */
function vncArgs(vm: VmConfig): string[] {
  if (!vm.vnc) return [];
  return ["-vnc", `0.0.0.0:${VNC_DISPLAY}${vm.vnc.websocket ? `,websocket=127.0.0.1:${VNC_WEBSOCKET_PORT}` : ""}`];
}

/**
 * QEMU's own seccomp filter, on top of the container's: QEMU never needs to
 * start a program (the launcher starts virtiofsd and passt), change its user,
 * or change scheduling, so a compromised device model cannot either. The same
 * at build and run time; it does not touch the guest's state.
 */
export const SANDBOX = "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny";

/** The QEMU command line for a VmConfig. Pure: no probing, no file access. */
export function buildQemuArgs(vm: VmConfig): { binary: string; args: string[] } {
  const accel = vm.accel === "kvm" ? "kvm"
    : ["tcg", ...(vm.cpus > 1 ? ["thread=multi"] : []), ...(vm.tbSizeMiB ? [`tb-size=${vm.tbSizeMiB}`] : [])].join(",");
  // Under KVM the table's model would be emulated needlessly; an app's own choice is kept.
  const cpu = vm.accel === "kvm" && vm.cpu === vm.arch.cpu ? "host" : vm.cpu;
  const own = vm.machine === vm.arch.machine ? vm.arch.machineOptions : undefined;
  const machineOptions = [...(vm.accel === "tcg" ? own?.tcg ?? [] : []), ...(vm.boot.kind === "kernel" ? own?.kernelBoot ?? [] : [])];
  const memory = memoryArgs(vm.memoryMiB, ramBacking(vm));
  const serial = serialArgs(vm);
  const args = [
    "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
    "-sandbox", SANDBOX,
    ...memory.args,
    "-machine", [vm.machine, ...machineOptions, memory.machineProperty].join(","),
    "-accel", accel,
    "-cpu", cpu,
    "-m", `${vm.memoryMiB}M`,
    "-smp", String(vm.cpus),
    ...(vm.arch.rtc ? ["-rtc", vm.arch.rtc] : []),
    ...startArgs(vm),
    "-chardev", consoleChardev(vm.console),
    "-serial", `chardev:${ID.console}`,
    ...serial.backends,
    ...serial.uarts,
    "-qmp", `unix:${optionValue(vm.qmpSocket)},server=on,wait=off`,
    "-drive", `if=none,id=${ID.disk},file=${optionValue(vm.disk)},format=qcow2,discard=unmap`,
    // Firmware boots the disk first rather than trying the network. A direct
    // kernel boot has its own entry (on x86 the linuxboot ROM holds index 0).
    "-device", `${virtioDevice(vm.arch, "virtio-blk")},drive=${ID.disk}${vm.boot.kind === "kernel" ? "" : ",bootindex=0"}`,
    ...virtioSerialArgs(vm, serial.consoles),
    // User-mode networking: the guest reaches what the container reaches, with no privileges.
    ...netdevArgs(vm.arch, vm.network, vm.ports, vm.snapshot?.mode === "resume"),
    ...sharesArgs(vm),
    ...screenArgs(vm),
    ...vm.extraArgs,
    ...gdbArgs(vm),
    ...vncArgs(vm),
    // The migration capabilities a snapshot needs can only be set over QMP
    // (migration.ts), so the launcher starts the load once they are.
    ...(vm.snapshot?.mode === "resume" ? ["-incoming", "defer"] : []),
  ];
  return { binary: vm.arch.qemuBinary, args };
}
