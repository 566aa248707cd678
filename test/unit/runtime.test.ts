import { test } from "node:test";
import assert from "node:assert/strict";
import { ARCHES, ARCH_NAMES } from "../../common/arches.js";
import { encodeFrame, encodeSpec, exitCodeOf, FrameDecoder } from "../../runtime/agent/protocol.js";
import { chooseAccel } from "../../runtime/launcher/accel.js";
import type { GuestBase, SnapshotRun, VmConfig } from "../../runtime/vm/config.js";
import type { GuestArch } from "../../common/arches.js";
import { checkQemuArgs } from "../../common/qemu-options.js";
import { buildQemuArgs } from "../../runtime/vm/qemu-args.js";
import { qemuMessage } from "../../runtime/vm/qemu-process.js";
import { notesFor } from "../../runtime/launcher/notes.js";
import { settingsFromEnv } from "../../runtime/vm/settings.js";
import { vmConfigFor } from "../../runtime/vm/config.js";
import type { BaseManifest } from "../../common/layout.js";
import { chooseVolumeFs, virtiofsdArgs } from "../../runtime/vm/virtiofsd.js";
import { parseCxfile } from "../../frontend/cxfile/parse.js";
import { guestEnv } from "../../common/guest-env.js";
import { readCgroupLimits, sizeGuest } from "../../runtime/vm/guest-size.js";
import { volumeMountPoints } from "../../runtime/launcher/volumes.js";
import { guestProcess } from "../../runtime/launcher/container-process.js";
import { prepareStateDir, stateDirProblem } from "../../runtime/launcher/state-dir.js";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

test("every arch in the table has every field filled", () => {
  for (const name of ARCH_NAMES) {
    for (const [field, value] of Object.entries(ARCHES[name])) assert.ok(String(value).length > 0, `${name}.${field}`);
  }
  assert.deepEqual(ARCH_NAMES.map((n) => ARCHES[n].unameMachine), ["aarch64", "armv7l", "riscv64", "x86_64", "i686", "mips", "mips64", "ppc64le", "mips", "mips64", "ppc64", "ppc", "m68k", "riscv32"]);
});

test("frames survive any chunking of the stream", () => {
  const stream = Buffer.concat([encodeFrame("O", 0, "out"), encodeFrame("E", 7, ""), encodeFrame("X", 0x01020304, "exit 3")]);
  for (let split = 1; split < stream.length; split++) {
    const d = new FrameDecoder();
    const frames = [...d.push(stream.subarray(0, split)), ...d.push(stream.subarray(split))];
    assert.deepEqual(frames.map((f) => [f.type, f.channel, f.payload.toString()]), [["O", 0, "out"], ["E", 7, ""], ["X", 0x01020304, "exit 3"]]);
  }
  assert.throws(() => new FrameDecoder().push(Buffer.from([0x5a, 0, 0, 0, 0, 0, 0, 0, 0])), /unknown frame type/);
  assert.throws(() => new FrameDecoder().push(Buffer.from([0x4f, 0, 0, 0, 0, 0x7f, 0, 0, 0])), /exceeds/);
});

test("the spec carries argv, env, cwd, user, terminal, mounts and clock as NUL-separated tokens", () => {
  const frame = encodeSpec({
    argv: ["/bin/app", "a b"], env: ["K=v"], cwd: "/w", hostname: "h", user: "app:staff", clockNs: 5n,
    tty: { rows: 24, cols: 80 }, mounts: [{ fstype: "9p", tag: "cxvol0", guestPath: "/data: x" }],
  }, 3);
  assert.equal(frame.readUInt32BE(1), 3);
  const tokens = frame.subarray(9).toString().split("\0");
  assert.deepEqual(tokens, ["A/bin/app", "Aa b", "VK=v", "C/w", "Hh", "Uapp:staff", "Y24 80", "M9p:cxvol0:/data: x", "T5", ""]);
  assert.throws(() => encodeSpec({ argv: ["a\0b"], env: [], cwd: "/" }), /NUL/);
});

test("exit reports map to container exit codes", () => {
  assert.equal(exitCodeOf("exit 3"), 3);
  assert.equal(exitCodeOf("signal 9"), 137);
  assert.throws(() => exitCodeOf("bogus"), /malformed/);
});

test("TCG when the guest arch differs from the host, KVM only probed when they match", () => {
  assert.equal(chooseAccel("aarch64", "auto", { machine: "x86_64", kvmDevice: true }).accel, "tcg");
  assert.match(chooseAccel("aarch64", "auto", { machine: "x86_64", kvmDevice: true }).reason, /differs from host x86_64$/);
  const noDevice = chooseAccel("aarch64", "auto", { machine: "aarch64", kvmDevice: false });
  assert.deepEqual([noDevice.accel, /--device \/dev\/kvm/.test(noDevice.reason)], ["tcg", true]);
  assert.deepEqual(chooseAccel("aarch64", "auto", { machine: "aarch64", kvmDevice: true }), { accel: "kvm", reason: "KVM: guest arch matches the host and /dev/kvm opens", probing: true });
  assert.equal(chooseAccel("aarch64", "tcg", { machine: "aarch64", kvmDevice: true }).accel, "tcg");
});

test("settings come from CX_* variables and bad values are explained", () => {
  assert.deepEqual(settingsFromEnv({ CX_MEMORY: "1G", CX_CPUS: "2", CX_ACCEL: "tcg", CX_KERNEL_ARGS: "a=1  b", CX_PORTS: "80/tcp 53/udp" }), {
    accel: "tcg", memoryMiB: 1024, cpus: 2, kernelArgs: ["a=1", "b"], qemuArgs: [], serial: [], log: "quiet", kvmProbeSeconds: 10, volumeFs: "auto", net: "slirp", snapshot: "auto", powerdownSeconds: 5,
    entrypoint: [], gdbWait: false,
    ports: [{ port: 80, protocol: "tcp" }, { port: 53, protocol: "udp" }],
  });
  assert.throws(() => settingsFromEnv({ CX_PORTS: "80/sctp" }), /CX_PORTS=80\/sctp: '80\/sctp' is not a port/);
  assert.deepEqual(settingsFromEnv({ CX_MACHINE: "virt-7.2", CX_CPU: "cortex-a72", CX_QEMU_ARGS: '["-device","virtio-rng-pci"]' }).qemuArgs, ["-device", "virtio-rng-pci"]);
  assert.equal(settingsFromEnv({ CX_CPU: "cortex-a72" }).cpu, "cortex-a72");
  assert.deepEqual(settingsFromEnv({ CX_QEMU_ARGS: "-rtc base=utc" }).qemuArgs, ["-rtc", "base=utc"]);
  assert.throws(() => settingsFromEnv({ CX_QEMU_ARGS: "-monitor stdio" }), /CX_QEMU_ARGS: argument 1: '-monitor' is not an option/);
  assert.throws(() => settingsFromEnv({ CX_QEMU_ARGS: "-device virtio-net-pci,id=net0" }), /id 'net0' is used by the runtime/);
  assert.throws(() => settingsFromEnv({ CX_MACHINE: "virt; rm" }), /CX_MACHINE=virt; rm: not a QEMU model name/);
  assert.throws(() => settingsFromEnv({ CX_MEMORY: "lots" }), /CX_MEMORY=lots: expected a size/);
  for (const [text, mib] of [["768", 768], ["512M", 512], ["512MiB", 512], ["2G", 2048], ["2 GB", 2048]] as const) {
    assert.equal(settingsFromEnv({ CX_MEMORY: text }).memoryMiB, mib, `CX_MEMORY=${text}`);
    assert.equal(parseCxfile(`base: minimal/aarch64\nguest: { memory: "${text}" }\n`, "Cxfile").guest.memoryMiB, mib, `guest.memory: ${text}`);
  }
  assert.throws(() => settingsFromEnv({ CX_ACCEL: "hvf" }), /expected auto, kvm or tcg/);
  assert.equal(settingsFromEnv({ CX_LOG: "debug" }).log, "debug");
  assert.throws(() => settingsFromEnv({ CX_LOG: "verbose" }), /CX_LOG=verbose: expected quiet, info or debug/);
  assert.deepEqual(settingsFromEnv({ CX_ENTRYPOINT: '["/bin/sh","-c"]', CX_USER: "app:staff", CX_STATE_DIR: "/s" }),
    { ...settingsFromEnv({}), entrypoint: ["/bin/sh", "-c"], user: "app:staff", stateDir: "/s" });
  assert.throws(() => settingsFromEnv({ CX_ENTRYPOINT: "/bin/sh" }), /CX_ENTRYPOINT must be a JSON array of strings, got \/bin\/sh/);
  assert.throws(() => settingsFromEnv({ CX_CPUS: "0" }), /between 1 and 64/);
  for (const [text, mib] of [["8G", 8192], ["1536M", 1536], ["1T", 1024 * 1024]] as const) {
    assert.equal(settingsFromEnv({ CX_DISK_SIZE: text }).diskMiB, mib, `CX_DISK_SIZE=${text}`);
    const guest = parseCxfile(`base: minimal/aarch64\nguest: { disk_size: "${text}" }\n`, "Cxfile").guest;
    assert.equal(guest.diskMiB, mib, `guest.disk_size: ${text}`);
    assert.ok(guestEnv(guest).includes(`CX_DISK_SIZE=${mib}M`), "the Cxfile's size is the image's CX_DISK_SIZE default");
  }
  assert.throws(() => settingsFromEnv({ CX_DISK_SIZE: "big" }), /CX_DISK_SIZE=big: expected a size such as 8G/);
  assert.throws(() => settingsFromEnv({ CX_DISK_SIZE: "1M" }), /CX_DISK_SIZE=1M: must be between 64M and 16T/);
});

test("the QEMU command line boots the kernel with the disk and the agent port", () => {
  const vm: VmConfig = {
    arch: ARCHES.aarch64, machine: "virt", cpu: "cortex-a57", accel: "tcg", memoryMiB: 512, cpus: 2, boot: { kind: "kernel", kernel: "/k", initrd: "/i", args: ["console=ttyAMA0", "quiet"] },
    disk: "/s/disk.qcow2", agentSocket: "/s/agent.sock", qmpSocket: "/s/qmp.sock", console: { file: "/s/console.log" }, extraArgs: [], shares: [], ports: [],
    network: "slirp", shareSlots: 2, idleShareDir: "/s/no-volume", serial: [], serialSlots: 0, screen: false,
  };
  const { binary, args } = buildQemuArgs(vm);
  assert.equal(binary, "qemu-system-aarch64");
  const after = (flag: string) => args[args.indexOf(flag) + 1];
  assert.equal(after("-accel"), "tcg,thread=multi");
  assert.equal(after("-cpu"), "cortex-a57");
  assert.equal(after("-m"), "512M");
  assert.equal(after("-append"), "console=ttyAMA0 quiet");
  assert.equal(after("-sandbox"), "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny", "QEMU may not spawn, change user or reschedule");
  assert.ok(args.includes("if=none,id=root,file=/s/disk.qcow2,format=qcow2,discard=unmap"));
  assert.ok(args.includes("virtio-blk-pci,drive=root"), "no boot index: x86's linuxboot ROM takes index 0");
  assert.ok(args.includes("socket,id=cxagent,path=/s/agent.sock"));
  assert.ok(args.includes("virtserialport,bus=cxserial.0,chardev=cxagent,name=cx.agent"));
  assert.ok(args.includes("user,id=net0"));
  const shared = buildQemuArgs({
    ...vm, tbSizeMiB: 64,
    ports: [{ port: 80, protocol: "tcp" }, { port: 53, protocol: "udp" }],
    shares: [{ fstype: "9p", tag: "cxvol0", hostPath: "/data,x", guestPath: "/data,x" }],
  }).args;
  assert.ok(shared.includes("user,id=net0,hostfwd=tcp::80-:80,hostfwd=udp::53-:53"), "exposed ports are forwarded from the container's same port");
  assert.ok(shared.includes("local,id=fs0,path=/data,,x,security_model=passthrough"), "commas in paths are escaped for QEMU");
  assert.ok(shared.includes("virtio-9p-pci,fsdev=fs0,mount_tag=cxvol0"));
  assert.ok(shared.includes("local,id=fs1,path=/s/no-volume,security_model=passthrough"), "an idle slot serves the empty folder");
  assert.ok(args.includes("local,id=fs0,path=/s/no-volume,security_model=passthrough") && args.includes("virtio-9p-pci,fsdev=fs1,mount_tag=cxvol1"),
    "the slots are there without volumes: the machine is the same whatever a container mounts");
  assert.equal(shared.filter((a) => a.startsWith("virtio-9p-pci")).length, 2);
  assert.equal(shared[shared.indexOf("-accel") + 1], "tcg,thread=multi,tb-size=64");
  assert.equal(after("-machine"), "virt,memory-backend=cxram");
  assert.equal(after("-object"), "memory-backend-ram,id=cxram,size=512M", "private RAM without virtiofs");
  const virtiofs = buildQemuArgs({ ...vm, shares: [{ fstype: "virtiofs", tag: "cxvol0", hostPath: "/data", guestPath: "/data", socket: "/s/cxvol0.sock" }] }).args;
  assert.ok(virtiofs.includes("socket,id=fs2,path=/s/cxvol0.sock"), "after the slots");
  assert.ok(virtiofs.includes("vhost-user-fs-pci,chardev=fs2,tag=cxvol0"));
  assert.equal(virtiofs[virtiofs.indexOf("-object") + 1], "memory-backend-memfd,id=cxram,size=512M,share=on", "virtiofsd maps guest RAM");
  assert.equal(buildQemuArgs({ ...vm, cpu: "cortex-a72", accel: "kvm" }).args.includes("cortex-a72"), true);
  assert.equal(buildQemuArgs({ ...vm, accel: "kvm", cpus: 1 }).args[buildQemuArgs({ ...vm, accel: "kvm" }).args.indexOf("-cpu") + 1], "host");
});

test("guest RAM: a snapshot maps all of it from one file, the same backend id whatever backs it", () => {
  const manifest = (arch: BaseManifest["arch"]): GuestBase => ({ arch: arch as GuestBase["arch"], flavour: "minimal", kernelArgs: [] });
  const place = { disk: "/d", stateDir: "/s", accel: "tcg" as const, size: { memoryMiB: 512, cpus: 2, notes: [] } };
  const files = { state: "/cx/snapshot/state", ram: "/cx/snapshot/ram" };
  const config = (arch: BaseManifest["arch"], snapshot?: SnapshotRun) =>
    vmConfigFor(manifest(arch), settingsFromEnv({}), { ...place, ...(snapshot ? { snapshot } : {}) });
  const flags = (args: string[], flag: string) => args.flatMap((a, i) => (a === flag ? [args[i + 1]] : []));
  const cold = buildQemuArgs(config("aarch64")).args;
  assert.deepEqual(flags(cold, "-object"), ["memory-backend-ram,id=cxram,size=512M"]);
  assert.equal(flags(cold, "-machine")[0], "virt,memory-backend=cxram");
  assert.ok(!cold.includes("-numa"), "one node: a streamed part would be read page by page on resume");
  for (const arch of ["aarch64", "mips", "riscv64", "ppc64"] as const) {
    const save = buildQemuArgs(config(arch, { mode: "save", ...files })).args;
    assert.deepEqual(flags(save, "-object"), ["memory-backend-file,id=cxram,size=512M,mem-path=/cx/snapshot/ram,share=on"], arch);
    assert.ok(save.includes("-kernel") && !save.includes("-incoming"));
    const resume = buildQemuArgs(config(arch, { mode: "resume", ...files })).args;
    assert.deepEqual(flags(resume, "-object"), ["memory-backend-file,id=cxram,size=512M,mem-path=/cx/snapshot/ram,share=off,readonly=on,rom=off"],
      `${arch}: mapped private and read-only, the guest's writes stay in the container`);
    assert.ok(!resume.includes("-kernel") && !resume.includes("-initrd") && !resume.includes("-append"), "the kernel is in the snapshot's RAM");
    assert.deepEqual(resume.slice(-2), ["-incoming", "defer"], "the load starts over QMP once x-ignore-shared is set");
  }
  const virtiofs = buildQemuArgs({ ...config("aarch64"), shares: [{ tag: "cxvol0", hostPath: "/v", guestPath: "/data", fstype: "virtiofs", socket: "/s/vfs0" }] }).args;
  assert.deepEqual(flags(virtiofs, "-object")[0], "memory-backend-memfd,id=cxram,size=512M,share=on", "virtiofsd maps guest RAM");
  const uefi = vmConfigFor({ ...manifest("aarch64"), boot: { kind: "uefi" } }, settingsFromEnv({}), { ...place, snapshot: { mode: "resume", ...files } });
  assert.equal(flags(buildQemuArgs(uefi).args, "-drive").filter((d) => d.startsWith("if=pflash")).length, 2, "flash is a device: it stays");
  assert.equal(checkQemuArgs(["-object", "memory-backend-ram,id=cxram,size=1G"])?.problem, "id 'cxram' is used by the runtime");
});

test("the arch table's machine options apply to its own machine, under TCG and for a kernel QEMU loads", () => {
  const base: VmConfig = {
    arch: ARCHES.ppc64, machine: "pseries", cpu: "power9", accel: "tcg", memoryMiB: 512, cpus: 1, boot: { kind: "kernel", kernel: "/k", args: [] },
    disk: "/d", qmpSocket: "/q", console: "stderr", extraArgs: [], shares: [], ports: [], network: "slirp", shareSlots: 0, idleShareDir: "/i", serial: [], serialSlots: 0, screen: false,
  };
  const machine = (vm: VmConfig) => { const { args } = buildQemuArgs(vm); return args[args.indexOf("-machine") + 1]; };
  assert.equal(machine(base), "pseries,cap-cfpc=broken,cap-sbbc=broken,cap-ibs=broken,cap-ccf-assist=off,x-vof=on,memory-backend=cxram");
  assert.equal(machine({ ...base, accel: "kvm" }), "pseries,x-vof=on,memory-backend=cxram");
  assert.equal(machine({ ...base, boot: { kind: "firmware", image: "/f" } }), "pseries,cap-cfpc=broken,cap-sbbc=broken,cap-ibs=broken,cap-ccf-assist=off,memory-backend=cxram",
    "a firmware of the user's own replaces SLOF; VOF would not load it");
  assert.equal(machine({ ...base, machine: "powernv" }), "powernv,memory-backend=cxram", "an app's own machine gets no options meant for another");
});

test("a machine without PCI gets its virtio devices over virtio-mmio, and the arch's -rtc settings; PCI arches are as they were", () => {
  const vm = (arch: GuestArch, machine: string): VmConfig => ({
    arch, machine, cpu: arch.cpu, accel: "tcg", memoryMiB: 512, cpus: 1, boot: { kind: "kernel", kernel: "/k", args: [] },
    disk: "/d", agentSocket: "/a", qmpSocket: "/q", console: "stderr", extraArgs: [], shares: [{ fstype: "9p", tag: "cxvol0", hostPath: "/h", guestPath: "/data" }],
    ports: [], network: "slirp", shareSlots: 1, idleShareDir: "/i", serial: [], serialSlots: 0, screen: false,
  });
  const devices = (args: string[]) => args.flatMap((a, i) => (args[i - 1] === "-device" ? [a.split(",")[0]] : []));
  const m68k = buildQemuArgs(vm(ARCHES.m68k, "virt")).args;
  assert.deepEqual(devices(m68k), ["virtio-blk-device", "virtio-serial-device", "virtserialport", "virtio-net-device", "virtio-9p-device"]);
  assert.ok(!m68k.some((a) => a.includes("romfile")), "no option ROM without PCI");
  assert.equal(m68k[m68k.indexOf("-rtc") + 1], "clock=vm");
  const aarch64 = buildQemuArgs(vm(ARCHES.aarch64, "virt")).args;
  assert.deepEqual(devices(aarch64), ["virtio-blk-pci", "virtio-serial-pci", "virtserialport", "virtio-net-pci", "virtio-9p-pci"]);
  assert.ok(!aarch64.includes("-rtc"));
});

test("a base's boot method decides how QEMU starts it, and only agent bases get the agent port", () => {
  const place = { disk: "/s/disk.qcow2", stateDir: "/s", accel: "tcg" as const, size: { memoryMiB: 256, cpus: 1, notes: [] } };
  const settings = settingsFromEnv({ CX_KERNEL_ARGS: "loglevel=3" });
  const config = (boot?: BaseManifest["boot"]) => vmConfigFor({ arch: "aarch64", flavour: "disk", kernelArgs: ["console=ttyAMA0"], ...(boot ? { boot } : {}) }, settings, place);
  const published = config();
  assert.deepEqual(published.boot, { kind: "kernel", kernel: "/cx/base/vmlinuz", initrd: "/cx/base/initrd.img", args: ["console=ttyAMA0", "nokaslr", "cx_tick_ms=20", "loglevel=3"] },
    "under TCG the agent guest gets the arch's emulation arguments and the agent's tick, before the user's");
  const underKvm = vmConfigFor({ arch: "aarch64", flavour: "disk", kernelArgs: ["console=ttyAMA0"] }, settings, { ...place, accel: "kvm" });
  assert.deepEqual(underKvm.boot.kind === "kernel" && underKvm.boot.args, ["console=ttyAMA0", "loglevel=3"], "KVM keeps the kernel's own defaults");
  assert.equal(published.agentSocket, "/s/agent.sock");
  assert.deepEqual(published.console, { file: "/s/console.log" });
  assert.deepEqual(config({ kind: "kernel", initrd: false }).boot, { kind: "kernel", kernel: "/cx/base/vmlinuz", args: ["console=ttyAMA0", "loglevel=3"] });

  const uefi = config({ kind: "uefi" });
  assert.equal(uefi.agentSocket, undefined);
  assert.equal(uefi.console, "stdio", "without the agent the serial console is the container's stdio");
  const uefiArgs = buildQemuArgs(uefi).args;
  assert.ok(uefiArgs.includes("if=pflash,unit=0,format=qcow2,readonly=on,file=/cx/runtime/firmware/aarch64/code.qcow2"));
  assert.ok(uefiArgs.includes("if=pflash,unit=1,format=qcow2,file=/s/uefi-vars.qcow2"), "each container writes its own variable store");
  assert.ok(!uefiArgs.includes("-kernel") && !uefiArgs.includes("-append"));
  assert.ok(!uefiArgs.some((a) => a.includes("cx.agent")), "no agent port");
  assert.ok(uefiArgs.includes("stdio,id=console,signal=off"));
  assert.ok(uefiArgs.includes("virtio-blk-pci,drive=root,bootindex=0"), "firmware boots the disk, not the network");
  assert.equal(uefiArgs[uefiArgs.indexOf("-qmp") + 1], "unix:/s/qmp.sock,server=on,wait=off");

  const firmware = buildQemuArgs(config({ kind: "firmware" })).args;
  assert.equal(firmware[firmware.indexOf("-bios") + 1], "/cx/base/firmware.bin");
});

test("volumes use virtiofs where virtiofsd is, 9p otherwise, unless CX_VOLUME_FS says which", () => {
  assert.equal(chooseVolumeFs("auto", true, ARCHES.aarch64, false).fstype, "virtiofs");
  assert.equal(chooseVolumeFs("auto", true, ARCHES.aarch64, true).fstype, "9p", "a resumed guest's volume slots are 9p");
  assert.equal(chooseVolumeFs("virtiofs", true, ARCHES.aarch64, true).fstype, "virtiofs");
  assert.deepEqual(chooseVolumeFs("auto", false, ARCHES.aarch64, false), { fstype: "9p", reason: "no /usr/libexec/virtiofsd in this runtime" });
  assert.equal(chooseVolumeFs("9p", true, ARCHES.aarch64, false).fstype, "9p");
  assert.throws(() => chooseVolumeFs("virtiofs", false, ARCHES.aarch64, false), /CX_VOLUME_FS=virtiofs, but this runtime has no \/usr\/libexec\/virtiofsd/);
  assert.deepEqual(chooseVolumeFs("auto", true, ARCHES.ppc64, false), { fstype: "9p", reason: "virtiofs is unusable: virtiofsd serves little-endian guests only, and this one is big-endian" });
  assert.throws(() => chooseVolumeFs("virtiofs", true, ARCHES.mips, false), /CX_VOLUME_FS=virtiofs, but virtiofsd serves little-endian guests only, and this one is big-endian; use CX_VOLUME_FS=9p or auto/);
  assert.equal(settingsFromEnv({ CX_VOLUME_FS: "9p" }).volumeFs, "9p");
  assert.throws(() => settingsFromEnv({ CX_VOLUME_FS: "nfs" }), /CX_VOLUME_FS=nfs: expected auto, virtiofs or 9p/);
  assert.deepEqual(virtiofsdArgs({ fstype: "virtiofs", tag: "cxvol0", hostPath: "/data", guestPath: "/data", socket: "/s/v.sock" }).slice(0, 6),
    ["--socket-path", "/s/v.sock", "--shared-dir", "/data", "--sandbox", "none"]);
});

test("the guest is sized from the container's limits unless CX_MEMORY/CX_CPUS say otherwise, never over the memory limit", () => {
  assert.deepEqual(sizeGuest({}, {}), { memoryMiB: 512, cpus: 1, notes: [] });
  assert.deepEqual(sizeGuest({}, { memoryMiB: 512, cpus: 2 }), { memoryMiB: 352, cpus: 2, tbSizeMiB: 64, notes: [] });
  assert.deepEqual(sizeGuest({ memoryMiB: 256, cpus: 3 }, { memoryMiB: 1024, cpus: 2 }), { memoryMiB: 256, cpus: 3, tbSizeMiB: 64, notes: [] });
  const clamped = sizeGuest({ memoryMiB: 2048 }, { memoryMiB: 1024 });
  assert.equal(clamped.memoryMiB, 864);
  assert.match(clamped.notes[0], /CX_MEMORY=2048M does not fit the container's 1024M limit; the guest gets 864M/);
  assert.throws(() => sizeGuest({}, { memoryMiB: 128 }), /leaves no room for a guest.*at least 224M/);
});

test("cgroup v1 and v2 limits are read; unlimited reads as no limit", async () => {
  const v2 = await mkdtemp(join(tmpdir(), "cg2-"));
  await writeFile(join(v2, "memory.max"), "536870912\n");
  await writeFile(join(v2, "cpu.max"), "150000 100000\n");
  assert.deepEqual(await readCgroupLimits(v2), { memoryMiB: 512, cpus: 2 });
  await writeFile(join(v2, "memory.max"), "max\n");
  await writeFile(join(v2, "cpu.max"), "max 100000\n");
  assert.deepEqual(await readCgroupLimits(v2), {});
  const v1 = await mkdtemp(join(tmpdir(), "cg1-"));
  await mkdir(join(v1, "memory"));
  await mkdir(join(v1, "cpu"));
  await writeFile(join(v1, "memory/memory.limit_in_bytes"), "9223372036854771712\n");
  await writeFile(join(v1, "cpu/cpu.cfs_quota_us"), "200000\n");
  await writeFile(join(v1, "cpu/cpu.cfs_period_us"), "100000\n");
  assert.deepEqual(await readCgroupLimits(v1), { cpus: 2 });
});

test("volumes are the container's mounts other than the engine's own and the one holding the state directory", () => {
  const mountinfo = [
    "72 48 0:39 / / rw - overlay overlay rw",
    "73 72 0:42 / /proc rw - proc proc rw",
    "75 74 0:44 / /dev/pts rw - devpts devpts rw",
    "77 76 0:46 / /sys/fs/cgroup rw - tmpfs tmpfs rw",
    "89 72 254:0 /x/resolv.conf /etc/resolv.conf rw - ext4 /dev/vda rw",
    "92 72 254:0 /srv/data /data rw - ext4 /dev/vda rw",
    "93 72 254:0 /srv/my\\040dir /my\\040dir rw - ext4 /dev/vda rw",
    "94 72 0:50 / /var/lib/app rw - ext4 /dev/vda rw",
    "95 72 0:51 / /run rw - tmpfs tmpfs rw",
    "96 72 0:52 / /run/.containerenv rw - tmpfs tmpfs rw",
    "97 72 0:53 / /tmp rw - tmpfs tmpfs rw",
  ].join("\n");
  assert.deepEqual(volumeMountPoints(mountinfo, "/tmp/cx-state"), ["/data", "/my dir", "/var/lib/app"], "ctr's /run, podman's .containerenv, the state's /tmp");
  assert.deepEqual(volumeMountPoints(mountinfo, "/cx/state"), ["/data", "/my dir", "/var/lib/app", "/tmp"], "a --tmpfs /tmp of a root container is its volume");
  assert.deepEqual(volumeMountPoints(mountinfo, "/data/state"), ["/my dir", "/var/lib/app", "/tmp"], "CX_STATE_DIR on a volume keeps that volume");
});

test("the guest process takes the container's env, cwd and user; docker run -u wins over the image's user", () => {
  const env = { PATH: "/bin", CX_USER: "app", CX_MEMORY: "1G", HOSTNAME: "h" };
  const from = { env, cwd: "/w", uid: 0, gid: 0 };
  const imageUser = settingsFromEnv(env).user;
  assert.deepEqual(guestProcess(["/bin/true"], from, imageUser), { argv: ["/bin/true"], env: ["PATH=/bin"], cwd: "/w", user: "app" });
  assert.equal(guestProcess(["x"], { ...from, uid: 1000, gid: 100 }, imageUser).user, "1000:100");
  assert.deepEqual(guestProcess(["x"], { ...from, terminal: { rows: 30, cols: 100 } }, imageUser).tty, { rows: 30, cols: 100 });
});

test("the launcher is quiet by default: deviations and errors are said, what it does only with CX_LOG=info or debug", () => {
  for (const level of ["quiet", "info", "debug"] as const) {
    const lines: string[] = [];
    const notes = notesFor(level, (line) => lines.push(line));
    notes.info("aarch64 guest, TCG");
    notes.deviation("booting the guest, not resuming its snapshot: CX_MEMORY");
    notes.error("the guest kernel panicked");
    const deviations = ["containerx: booting the guest, not resuming its snapshot: CX_MEMORY\n", "containerx: the guest kernel panicked\n"];
    assert.deepEqual(lines, level === "quiet" ? deviations : ["containerx: aarch64 guest, TCG\n", ...deviations], level);
  }
});

test("a state directory that cannot be written is one line naming it and what to give the container", async () => {
  assert.equal(stateDirProblem("/tmp/cx-state", "EROFS"),
    "the container's state directory /tmp/cx-state is not writable (read-only file system): give the container a writable /tmp " +
    "(docker run --tmpfs /tmp, or a volume there), or set CX_STATE_DIR to a writable directory");
  assert.match(stateDirProblem("/cx/state", "EACCES"), /\/cx\/state is not writable \(permission denied\): .*docker run --tmpfs \/cx\/state/);
  const file = join(await mkdtemp(join(tmpdir(), "cx-unit-state-")), "a-file");
  await writeFile(file, "");
  await assert.rejects(prepareStateDir(join(file, "state")), (err: Error) => {
    assert.match(err.message, /a-file\/state is not writable \(a parent is not a directory\)/);
    return !err.message.includes("\n");
  });
  await prepareStateDir(join(file + ".d", "state"));
  await assert.rejects(prepareStateDir("/proc/cx-unit-state/x"), /\/proc\/cx-unit-state\/x is not writable \(it cannot be created there\)/, "an answer, not Node's endless recursive mkdir");
});

test("QEMU's reason is its last error line, not the hint after it", () => {
  assert.equal(qemuMessage('qemu-system-aarch64: unsupported machine type: "x"\nUse -machine help to list supported machines\n'),
    'qemu-system-aarch64: unsupported machine type: "x"');
  assert.equal(qemuMessage("warning: one\nsomething else\n"), "something else");
  assert.equal(qemuMessage(""), "");
});
