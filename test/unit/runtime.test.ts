import { test } from "node:test";
import assert from "node:assert/strict";
import { ARCHES, ARCH_NAMES } from "../../common/arches.js";
import { encodeFrame, encodeSpec, exitCodeOf, FrameDecoder } from "../../runtime/launcher/agent-protocol.js";
import { chooseAccel } from "../../runtime/launcher/accel.js";
import { buildQemuArgs, type VmConfig } from "../../runtime/launcher/qemu-args.js";
import { settingsFromEnv } from "../../runtime/launcher/settings.js";
import { parseCxfile } from "../../frontend/cxfile/parse.js";

test("every arch in the table has every field filled", () => {
  for (const name of ARCH_NAMES) {
    for (const [field, value] of Object.entries(ARCHES[name])) assert.ok(String(value).length > 0, `${name}.${field}`);
    assert.equal(ARCHES[name].unameMachine, name);
  }
});

test("frames survive any chunking of the stream", () => {
  const stream = Buffer.concat([encodeFrame("O", Buffer.from("out")), encodeFrame("E", Buffer.from("")), encodeFrame("X", Buffer.from("exit 3"))]);
  for (let split = 1; split < stream.length; split++) {
    const d = new FrameDecoder();
    const frames = [...d.push(stream.subarray(0, split)), ...d.push(stream.subarray(split))];
    assert.deepEqual(frames.map((f) => [f.type, f.payload.toString()]), [["O", "out"], ["E", ""], ["X", "exit 3"]]);
  }
  assert.throws(() => new FrameDecoder().push(Buffer.from([0x5a, 0, 0, 0, 0])), /unknown frame type/);
});

test("the spec carries argv, env, cwd, user and clock as NUL-separated tokens", () => {
  const frame = encodeSpec({ argv: ["/bin/app", "a b"], env: ["K=v"], cwd: "/w", hostname: "h", user: "app:staff", clockNs: 5n });
  const tokens = frame.subarray(5).toString().split("\0");
  assert.deepEqual(tokens, ["A/bin/app", "Aa b", "VK=v", "C/w", "Hh", "Uapp:staff", "T5", ""]);
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
  assert.deepEqual(settingsFromEnv({ CX_MEMORY: "1G", CX_CPUS: "2", CX_ACCEL: "tcg", CX_KERNEL_ARGS: "a=1  b" }), {
    accel: "tcg", memoryMiB: 1024, cpus: 2, kernelArgs: ["a=1", "b"], qemuArgs: [], debugConsole: false, kvmProbeSeconds: 10,
  });
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
  assert.throws(() => settingsFromEnv({ CX_CPUS: "0" }), /between 1 and 64/);
});

test("the QEMU command line boots the kernel with the disk and the agent port", () => {
  const vm: VmConfig = {
    arch: ARCHES.aarch64, machine: "virt", cpu: "cortex-a57", accel: "tcg", memoryMiB: 512, cpus: 2, kernel: "/k", initrd: "/i", kernelArgs: ["console=ttyAMA0", "quiet"],
    disk: "/s/disk.qcow2", agentSocket: "/s/agent.sock", console: { file: "/s/console.log" }, extraArgs: [],
  };
  const { binary, args } = buildQemuArgs(vm);
  assert.equal(binary, "qemu-system-aarch64");
  const after = (flag: string) => args[args.indexOf(flag) + 1];
  assert.equal(after("-accel"), "tcg,thread=multi");
  assert.equal(after("-cpu"), "cortex-a57");
  assert.equal(after("-m"), "512M");
  assert.equal(after("-append"), "console=ttyAMA0 quiet");
  assert.ok(args.includes("if=none,id=root,file=/s/disk.qcow2,format=qcow2,discard=unmap"));
  assert.ok(args.includes("socket,id=cxagent,path=/s/agent.sock"));
  assert.ok(args.includes("virtserialport,bus=cxserial.0,chardev=cxagent,name=cx.agent"));
  assert.ok(args.includes("user,id=net0"));
  assert.equal(buildQemuArgs({ ...vm, cpu: "cortex-a72", accel: "kvm" }).args.includes("cortex-a72"), true);
  assert.equal(buildQemuArgs({ ...vm, accel: "kvm", cpus: 1 }).args[buildQemuArgs({ ...vm, accel: "kvm" }).args.indexOf("-cpu") + 1], "host");
});
