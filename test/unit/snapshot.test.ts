import { test } from "node:test";
import { createHash } from "node:crypto";
import { mkdtemp, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import { agentTakesSeed, encodeSpec } from "../../runtime/agent/protocol.js";
import type { HostShare, VmConfig } from "../../runtime/vm/config.js";
import { buildQemuArgs } from "../../runtime/vm/qemu-args.js";
import { settingsFromEnv } from "../../runtime/vm/settings.js";
import { machineIdentity, parseSnapshotManifest, readSnapshot, resumeBlocker, volumesBlocker, type SnapshotManifest } from "../../runtime/vm/snapshot.js";
import { snapshotFiles, vmConfigFor, type GuestBase } from "../../runtime/vm/config.js";
import { openVmKit } from "../../runtime/vm/kit.js";

const base: GuestBase = { arch: "aarch64", flavour: "minimal", kernelArgs: ["console=ttyAMA0"] };
const size = { memoryMiB: 512, cpus: 1, notes: [] };
const QEMU = "1:10.0.13+ds-0+deb13u1";
/** The machine as the build step saves it: its own state directory, console file and disk. */
const built = vmConfigFor(base, settingsFromEnv({}),
  { disk: "/cx/snapshot/disk.qcow2", stateDir: "/tmp/cx-snapshot", accel: "tcg", size, snapshot: { mode: "save", ...snapshotFiles() } });
const files = { stateBytes: 4, stateSha256: createHash("sha256").update("st8\n").digest("hex"), ramBytes: 8192 };
const snapshot: SnapshotManifest = { qemuVersion: QEMU, agentVersion: "cx-agent 3", identity: machineIdentity(built), bootSeconds: 2, files };
const atRun = (env: NodeJS.ProcessEnv = {}, more: { accel?: "kvm" | "tcg"; memoryMiB?: number; shares?: HostShare[] } = {}) =>
  vmConfigFor(base, settingsFromEnv(env), {
    disk: "/cx/state/disk.qcow2", stateDir: "/cx/state", accel: more.accel ?? "tcg", size: { ...size, memoryMiB: more.memoryMiB ?? 512 },
    snapshot: { mode: "resume", ...snapshotFiles() }, ...(more.shares ? { shares: more.shares } : {}),
  });
const nineP = (i: number): HostShare => ({ fstype: "9p", tag: `cxvol${i}`, hostPath: `/v${i}`, guestPath: `/v${i}` });

test("a container's own side (disk, sockets, console, ports, volume folders) does not keep it from resuming", () => {
  assert.equal(resumeBlocker(snapshot, atRun(), QEMU), undefined);
  assert.equal(resumeBlocker(snapshot, atRun({ CX_LOG: "debug", CX_PORTS: "80/tcp" }, { shares: [nineP(0), nineP(1)] }), QEMU), undefined);
  assert.equal(volumesBlocker(atRun({}, { shares: [nineP(0), nineP(1), nineP(2), nineP(3)] })), undefined);
  assert.equal(resumeBlocker(snapshot, { ...atRun(), tbSizeMiB: 64 }, QEMU), undefined, "a memory limit's smaller translation cache is QEMU's own");
  assert.equal(resumeBlocker(snapshot, { ...atRun(), gdb: { port: 1234, wait: true } }, QEMU), undefined, "a gdb stub is QEMU's own");
});

test("a gdb stub listens on the container port; a waiting boot starts stopped, a waiting resume is left stopped by the launcher", () => {
  const args = (vm: VmConfig) => buildQemuArgs(vm).args;
  const resumed = args({ ...atRun(), gdb: { port: 1234, wait: true } });
  assert.deepEqual(resumed.slice(resumed.indexOf("-gdb"), resumed.indexOf("-gdb") + 2), ["-gdb", "tcp::1234"]);
  assert.ok(!resumed.includes("-S"), "-incoming defer stops the guest already");
  const { snapshot: _resume, ...booted } = atRun();
  assert.ok(args({ ...booted, gdb: { port: 1234, wait: true } }).includes("-S"));
  assert.ok(!args({ ...booted, gdb: { port: 1234, wait: false } }).includes("-S"));
  assert.ok(!args(booted).includes("-gdb"), "no stub unless asked for");
});

test("what changes the machine boots cold, and the note names the setting", () => {
  const why = (vm: ReturnType<typeof atRun>, qemu = QEMU) => resumeBlocker(snapshot, vm, qemu);
  assert.match(why(atRun(), "1:9.2") ?? "", /taken with QEMU 1:10.0.13\+ds-0\+deb13u1, this runtime has 1:9.2/);
  assert.match(why(atRun({}, { memoryMiB: 384 })) ?? "", /384M of memory \(CX_MEMORY, or the container's memory limit\), the snapshot has 512M/);
  assert.match(why(atRun({}, { accel: "kvm" })) ?? "", /taken under TCG, and this guest runs under KVM/);
  assert.match(why(atRun({ CX_CPU: "cortex-a72" })) ?? "", /CX_MACHINE, CX_CPU/);
  assert.match(why(atRun({ CX_KERNEL_ARGS: "loglevel=7" })) ?? "", /CX_KERNEL_ARGS/);
  assert.match(why(atRun({ CX_QEMU_ARGS: "-device virtio-rng-pci" })) ?? "", /CX_QEMU_ARGS/);
  assert.match(why(atRun({ CX_DISK_SIZE: "8G" })) ?? "", /the guest disk is 8192M \(CX_DISK_SIZE\), the snapshot's is the image's size/);
  const bigger = { ...snapshot, identity: machineIdentity(vmConfigFor(base, settingsFromEnv({ CX_DISK_SIZE: "2G" }),
    { disk: "/cx/snapshot/disk.qcow2", stateDir: "/tmp/cx-snapshot", accel: "tcg", size })) };
  assert.equal(resumeBlocker(bigger, atRun({ CX_DISK_SIZE: "2048M" }), QEMU), undefined, "an image built with guest.disk_size resumes at that size");
  assert.equal(parseSnapshotManifest(JSON.stringify(bigger))?.identity.diskMiB, 2048);
  const virtiofs: HostShare = { fstype: "virtiofs", tag: "cxvol0", hostPath: "/v", guestPath: "/v", socket: "/s" };
  assert.match(volumesBlocker(atRun({}, { shares: [virtiofs] })) ?? "", /virtiofs volumes need devices the snapshot does not have/);
  assert.match(volumesBlocker(atRun({}, { shares: [0, 1, 2, 3, 4].map(nineP) })) ?? "", /room for 4 volumes, and this container has 5/);
});

test("the random seed reaches only agents that know it, as its own spec token", () => {
  assert.equal(agentTakesSeed("cx-agent 3"), true);
  assert.equal(agentTakesSeed("cx-agent 2"), false);
  assert.equal(agentTakesSeed(""), false);
  const tokens = encodeSpec({ argv: ["/app"], env: [], cwd: "/", seed: "ab".repeat(32) }).subarray(9).toString().split("\0");
  assert.ok(tokens.includes(`G${"ab".repeat(32)}`));
});

test("snapshot.json is read once and checked: a malformed one means a cold boot, not a crash", () => {
  assert.deepEqual(parseSnapshotManifest(JSON.stringify(snapshot)), snapshot);
  assert.equal(parseSnapshotManifest("{"), undefined);
  assert.equal(parseSnapshotManifest(JSON.stringify({ ...snapshot, identity: { ...snapshot.identity, memoryMiB: "512" } })), undefined);
  assert.equal(parseSnapshotManifest(JSON.stringify({ qemuVersion: QEMU })), undefined);
  const { files: _none, ...older } = snapshot;
  assert.equal(parseSnapshotManifest(JSON.stringify(older)), undefined, "a manifest without its files' facts is an older runtime's");
});

test("a snapshot whose state or RAM file differs from the build's is not resumed, and the reason says which", async () => {
  const dir = await mkdtemp(join(tmpdir(), "cx-unit-snapshot-"));
  const write = async (state: string, ramBytes: number) => {
    await writeFile(join(dir, "state"), state);
    await writeFile(join(dir, "ram"), "");
    await truncate(join(dir, "ram"), ramBytes);
  };
  await writeFile(join(dir, "snapshot.json"), JSON.stringify(snapshot));
  await write("st8\n", 8192);
  assert.deepEqual(await readSnapshot(dir), snapshot, "the files as built");
  await write("st9\n", 8192);
  assert.deepEqual(await readSnapshot(dir), { problem: "the snapshot is damaged: its state file's sha256 differs from the build's" }, "a flipped bit");
  await write("st", 8192);
  assert.deepEqual(await readSnapshot(dir), { problem: "the snapshot is damaged: its state file is 2 bytes, the build wrote 4" });
  await write("st8\n", 4096);
  assert.deepEqual(await readSnapshot(dir), { problem: "the snapshot is damaged: its RAM file is 4096 bytes, the build wrote 8192" });
  await rm(join(dir, "state"));
  assert.deepEqual(await readSnapshot(dir), { problem: "the snapshot is damaged: its files cannot be read (ENOENT)" });
  await writeFile(join(dir, "snapshot.json"), "{");
  assert.deepEqual(await readSnapshot(dir), { problem: `${join(dir, "snapshot.json")} is not one this runtime can read` });
  await rm(join(dir, "snapshot.json"));
  assert.equal(await readSnapshot(dir), undefined, "no snapshot: nothing to say");
  await rm(dir, { recursive: true });
});

test("serial ports: two slots in every agent guest, unconnected unless CX_SERIAL connects them, so the snapshot resumes with up to two", () => {
  const tcp = { kind: "tcp", port: 4001 } as const;
  const file = { kind: "file", path: "/logs/uart,1.log" } as const;
  const withPorts = (serial: VmConfig["serial"]) => ({ ...atRun(), serial });
  assert.equal(resumeBlocker(snapshot, withPorts([tcp, file]), QEMU), undefined, "where the ports go is the container's side");
  assert.equal(resumeBlocker(snapshot, withPorts([tcp, file, tcp]), QEMU), "a resumed guest has 2 serial ports beyond its console, and CX_SERIAL asks for 3");
  const args = buildQemuArgs(withPorts([tcp, file])).args;
  const chardevs = args.flatMap((a, i) => (args[i - 1] === "-chardev" && /^\w+,id=uart/.test(a) ? [a] : []));
  assert.deepEqual(chardevs, ["socket,id=uart0,host=0.0.0.0,port=4001,server=on,wait=off,nodelay=on", "file,id=uart1,path=/logs/uart,,1.log,append=on"]);
  // aarch64's virt has one PL011 beside the console's: the first port is it, the second a virtio console.
  assert.deepEqual(args.flatMap((a, i) => (args[i - 1] === "-serial" ? [a] : [])), ["chardev:console", "chardev:uart0"]);
  assert.ok(args.includes("virtconsole,bus=cxserial.0,chardev=uart1"));
  const idle = buildQemuArgs(atRun()).args;
  assert.ok(idle.includes("null,id=uart0") && idle.includes("null,id=uart1"), "unused slots are there, connected to nothing");
});

test("the screen: its devices are the machine's, built in or not, and its VNC server is the container's", () => {
  const screenBuilt = vmConfigFor(base, settingsFromEnv({ CX_DISPLAY: "vnc" }),
    { disk: "/cx/snapshot/disk.qcow2", stateDir: "/tmp/cx-snapshot", accel: "tcg", size, snapshot: { mode: "save", ...snapshotFiles() } });
  const withScreen = { ...snapshot, identity: machineIdentity(screenBuilt) };
  assert.equal(resumeBlocker(withScreen, { ...atRun({ CX_DISPLAY: "web" }), vnc: { websocket: true } }, QEMU), undefined, "vnc or web, the same devices");
  assert.equal(resumeBlocker(withScreen, atRun({ CX_DISPLAY: "off" }), QEMU), "the snapshot's machine has a screen, and CX_DISPLAY=off leaves it out");
  assert.equal(resumeBlocker(snapshot, atRun({ CX_DISPLAY: "vnc" }), QEMU), "the screen's devices (CX_DISPLAY) are not in the snapshot's machine");
  const args = buildQemuArgs({ ...atRun({ CX_DISPLAY: "web" }), vnc: { websocket: true } }).args;
  const devices = args.flatMap((a, i) => (args[i - 1] === "-device" ? [a] : []));
  assert.ok(["bochs-display,romfile=", "virtio-keyboard-pci", "virtio-tablet-pci"].every((d) => devices.includes(d)), devices.join(" "));
  assert.equal(args[args.indexOf("-vnc") + 1], "0.0.0.0:0,websocket=127.0.0.1:5700");
  assert.ok(!buildQemuArgs(screenBuilt).args.includes("-vnc"), "the build serves no screen");
  assert.ok(!buildQemuArgs(atRun()).args.some((a) => a.startsWith("bochs-display") || a.startsWith("virtio-keyboard")), "no screen unless asked for");
  const x86 = vmConfigFor({ ...base, arch: "x86_64" }, settingsFromEnv({ CX_DISPLAY: "vnc" }), { disk: "/d", stateDir: "/s", accel: "tcg", size });
  assert.ok(buildQemuArgs(x86).args.includes("VGA,romfile="), "x86's screen is its standard VGA");
  assert.throws(() => settingsFromEnv({ CX_DISPLAY: "vnc", CX_SERIAL: "tcp:5900" }), /CX_DISPLAY and CX_SERIAL both want container port 5900|CX_SERIAL and CX_DISPLAY/);
  // QEMU's websocket listens inside the container only, yet a forwarded guest port on it would stop QEMU from starting.
  assert.throws(() => settingsFromEnv({ CX_DISPLAY: "web", CX_PORTS: "5700/tcp" }), /CX_DISPLAY and CX_PORTS both want container port 5700/);
  assert.doesNotThrow(() => settingsFromEnv({ CX_DISPLAY: "vnc", CX_PORTS: "5700/tcp" }), "without the web page nothing listens on 5700");
});

test("a screen is refused on a base whose kernel has no driver for it, where the image is built and where it runs", async () => {
  const dir = await mkdtemp(join(tmpdir(), "cx-base-"));
  const limits = {};
  try {
    await writeFile(join(dir, "base.json"), JSON.stringify({ arch: "mips", flavour: "minimal", kernelArgs: [] }));
    await assert.rejects(openVmKit({ env: { CX_DISPLAY: "vnc" }, baseDir: dir, limits }),
      /CX_DISPLAY=vnc: the kernel of the minimal\/mips base has no driver for the screen/);
    assert.equal((await openVmKit({ env: {}, baseDir: dir, limits })).base.arch, "mips", "no screen asked for, none needed");
    await writeFile(join(dir, "base.json"), JSON.stringify({ arch: "aarch64", flavour: "minimal", kernelArgs: [], screen: true }));
    assert.equal((await openVmKit({ env: { CX_DISPLAY: "web" }, baseDir: dir, limits })).vm({ disk: "/d", stateDir: "/s", accel: "tcg" }).screen, true);
  } finally {
    await rm(dir, { recursive: true });
  }
});
