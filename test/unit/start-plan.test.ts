/**
 * The launcher's start decisions, one test per branch: the README's reasons
 * for a cold boot are exactly planStart's.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { settingsFromEnv } from "../../runtime/vm/settings.js";
import { machineIdentity, type SnapshotManifest } from "../../runtime/vm/snapshot.js";
import { planStart, type StartFacts, type VmFor } from "../../runtime/launcher/start-plan.js";
import { vmConfigFor, type GuestBase } from "../../runtime/vm/config.js";
import type { VolumeMount } from "../../runtime/launcher/volumes.js";

const base: GuestBase = { arch: "aarch64", flavour: "minimal", kernelArgs: ["console=ttyAMA0"] };
const QEMU = "1:10.0.13+ds-0+deb13u1";
const size = { memoryMiB: 512, cpus: 1, notes: [] };
const vmWith = (env: NodeJS.ProcessEnv): VmFor => (accel, shares, incoming) =>
  vmConfigFor(base, settingsFromEnv(env), { disk: "/s/disk.qcow2", stateDir: "/s", accel, size, shares, ...(incoming ? { incoming } : {}) });
const snapshot: SnapshotManifest = { qemuVersion: QEMU, agentVersion: "cx-agent 3", identity: machineIdentity(vmWith({})("tcg", [])), bootSeconds: 2,
  files: { stateBytes: 1, stateSha256: "0".repeat(64), ramBytes: 512 << 20 } };
const dirs = (...paths: string[]): VolumeMount[] => paths.map((path) => ({ path, directory: true }));

function facts(more: Partial<StartFacts> & { env?: NodeJS.ProcessEnv } = {}): StartFacts {
  const { env = {}, ...rest } = more;
  return {
    arch: "aarch64", settings: settingsFromEnv(env), snapshot, firstStart: true, qemuVersion: QEMU, virtiofsd: true,
    mounts: [], host: { machine: "x86_64", kvmDevice: false }, stateDir: "/s", net: { passt: true, seccompFilter: true }, lowestListenPort: 0, ...rest,
  };
}
const plan = (more: Partial<StartFacts> & { env?: NodeJS.ProcessEnv } = {}) => planStart(facts(more), vmWith(more.env ?? {}));
const whyCold = (p: ReturnType<typeof plan>) => (p.start.resume ? undefined : p.start.whyCold);

test("a first start with a snapshot that fits resumes it, its volumes in the snapshot's 9p slots", () => {
  const p = plan({ mounts: dirs("/data", "/logs") });
  assert.equal(p.start.resume, true);
  assert.equal(p.volumeFs.fstype, "9p");
  assert.deepEqual(p.shares.map((s) => [s.tag, s.guestPath]), [["cxvol0", "/data"], ["cxvol1", "/logs"]]);
  assert.equal(p.accel.accel, "tcg");
});

test("each reason to boot instead of resuming is its own branch, and says why", () => {
  assert.deepEqual(plan({ snapshot: undefined }).start, { resume: false }, "an image without a snapshot just boots");
  assert.equal(whyCold(plan({ snapshot: { problem: "the snapshot is damaged: its RAM file is 0 bytes, the build wrote 1" } })),
    "the snapshot is damaged: its RAM file is 0 bytes, the build wrote 1", "readSnapshot's reason is the note");
  assert.equal(whyCold(plan({ env: { CX_SNAPSHOT: "off" } })), "CX_SNAPSHOT=off");
  assert.match(whyCold(plan({ firstStart: false })) ?? "", /this container ran before/);
  assert.match(whyCold(plan({ qemuVersion: "1:9.2" })) ?? "", /taken with QEMU 1:10\.0\.13\+ds-0\+deb13u1, this runtime has 1:9\.2/);
  assert.match(whyCold(plan({ env: { CX_CPU: "cortex-a72" } })) ?? "", /\(CX_MACHINE, CX_CPU\), the snapshot's is virt\/cortex-a57/);
  assert.match(whyCold(plan({ env: { CX_DISK_SIZE: "8G" } })) ?? "", /CX_DISK_SIZE/);
  assert.match(whyCold(plan({ mounts: dirs("/a", "/b", "/c", "/d", "/e") })) ?? "", /room for 4 volumes, and this container has 5/);
  assert.match(whyCold(plan({ env: { CX_VOLUME_FS: "virtiofs" }, mounts: dirs("/data") })) ?? "", /virtiofs volumes need devices the snapshot does not have/);
});

test("a boot shares volumes by virtiofs where virtiofsd is, 9p otherwise; a single-file mount is left out", () => {
  const booted = plan({ snapshot: undefined, mounts: [...dirs("/data"), { path: "/etc/app.conf", directory: false }] });
  assert.equal(booted.volumeFs.fstype, "virtiofs");
  assert.deepEqual(booted.shares.map((s) => [s.fstype, s.guestPath, "socket" in s ? s.socket : ""]), [["virtiofs", "/data", "/s/cxvol0.sock"]]);
  assert.deepEqual(booted.skipped, ["/etc/app.conf"]);
  assert.equal(plan({ snapshot: undefined, virtiofsd: false, mounts: dirs("/data") }).volumeFs.fstype, "9p");
});

test("KVM is probed where the guest arch is the host's and /dev/kvm opens; otherwise TCG says why", () => {
  const native = plan({ snapshot: undefined, host: { machine: "aarch64", kvmDevice: true } });
  assert.deepEqual([native.accel.accel, native.accel.probing], ["kvm", true]);
  assert.match(plan({ host: { machine: "aarch64", kvmDevice: false } }).accel.reason, /no usable \/dev\/kvm/);
  assert.match(whyCold(plan({ host: { machine: "aarch64", kvmDevice: true } })) ?? "", /taken under TCG, and this guest runs under KVM/);
});

test("the network is slirp unless passt is asked for; a resumable snapshot stays resumable with either", () => {
  assert.deepEqual([plan().net.backend, plan().net.deviation], ["slirp", false]);
  const passt = plan({ env: { CX_NET: "passt" } });
  assert.deepEqual([passt.net.backend, passt.net.deviation], ["passt", false]);
  assert.equal(passt.start.resume, true);
  assert.match(passt.net.hint, /seccomp=unconfined/, "under a seccomp filter, passt's likely failure is explained");
  assert.equal(plan({ env: { CX_NET: "passt" }, net: { passt: true, seccompFilter: false } }).net.hint, "");
  const missing = plan({ env: { CX_NET: "passt" }, net: { passt: false, seccompFilter: false } }).net;
  assert.deepEqual([missing.backend, missing.deviation], ["slirp", true]);
  assert.match(missing.reason, /CX_NET=passt, but this runtime has no \/usr\/bin\/passt/);
  assert.throws(() => settingsFromEnv({ CX_NET: "auto" }), /CX_NET=auto: expected slirp or passt/);
});

test("ports the container's user may not listen on are left out with a note; the rest are forwarded and the snapshot still resumes", () => {
  const env = { CX_PORTS: "80/tcp 5353/udp 8080/tcp" };
  assert.deepEqual(plan({ env }).ports, { forwarded: settingsFromEnv(env).ports }, "Docker's containers may listen on any port");
  const ctr = plan({ env, lowestListenPort: 1024 });
  assert.deepEqual(ctr.ports.forwarded, [{ port: 5353, protocol: "udp" }, { port: 8080, protocol: "tcp" }]);
  assert.match(ctr.ports.refused ?? "", /^not forwarding 80\/tcp: this container's user may not listen below port 1024 \(net\.ipv4\.ip_unprivileged_port_start\); .*--sysctl net\.ipv4\.ip_unprivileged_port_start=0/);
  assert.equal(ctr.start.resume, true);
});
