import { test } from "node:test";
import assert from "node:assert/strict";
import { parseCxfile } from "../../frontend/cxfile/parse.js";
import { CxfileError } from "../../frontend/cxfile/errors.js";

const ok = `# syntax=containerx/frontend
args:
  VERSION: "1.0"
  PREFIX:
base: minimal/aarch64
guest:
  machine: virt
  cpu: cortex-a72
  cpus: 2
  memory: 1G
  kernel_args: loglevel=3
  qemu_args: ["-device", "virtio-rng-pci"]
run:
  - echo "$HOME" > /etc/built
  - ["/bin/touch", "/etc/x"]
copy:
  - hello: /opt/hello/hello
  - src: conf
    dest: /etc/app/
    mode: "0644"
    owner: "1000:100"
  - src: "bin/*"
    dest: /usr/local/bin/
entrypoint: ["/opt/hello/hello", "world"]
cmd: echo hi
env:
  GREETING: hello \${VERSION}
  COUNT: 3
  WHERE: \${PREFIX:-/usr}/share
workdir: /opt/hello
user: "1000:100"
expose: [80, 53/udp]
volumes: [/data]
healthcheck:
  test: ["/bin/true"]
  interval: 1m30s
  timeout: 500ms
  start_period: 2s
  retries: 4
labels:
  org.example.team: embedded
stop_signal: int
stop_timeout: 20
targets:
  debug:
    cmd: ["--verbose"]
    env:
      DEBUG: "1"
  tests:
    copy:
      - tests: /opt/tests
`;

function errorOf(text: string, buildArgs?: Map<string, string>): CxfileError {
  try {
    parseCxfile(text, "Cxfile", buildArgs ? { buildArgs } : {});
  } catch (err) {
    assert.ok(err instanceof CxfileError, `expected CxfileError, got ${String(err)}`);
    return err;
  }
  assert.fail("expected the Cxfile to be rejected");
}

test("parses every key of a valid Cxfile into typed values", () => {
  const spec = parseCxfile(ok, "Cxfile", { buildArgs: new Map([["VERSION", "2.0"], ["UNDECLARED", "x"]]) });
  assert.deepEqual(spec.args.map((a) => [a.name, a.value, a.pos.line]), [["VERSION", "2.0", 3], ["PREFIX", "", 4]]);
  assert.deepEqual(spec.base, { kind: "named", flavour: "minimal", arch: "aarch64", pos: { line: 5, column: 7 } });
  assert.deepEqual(spec.guest, { machine: "virt", cpu: "cortex-a72", cpus: 2, memoryMiB: 1024, kernelArgs: ["loglevel=3"], qemuArgs: ["-device", "virtio-rng-pci"], serial: [], snapshot: true });
  assert.deepEqual(spec.stage.run.map((r) => r.argv), [["/bin/sh", "-c", 'echo "$HOME" > /etc/built'], ["/bin/touch", "/etc/x"]]);
  assert.deepEqual(spec.stage.copy.map(({ pos: _p, ...c }) => c), [
    { src: "hello", dest: "/opt/hello/hello" },
    { src: "conf", dest: "/etc/app/", mode: 0o644, owner: { uid: 1000, gid: 100 } },
    { src: "bin/*", dest: "/usr/local/bin/" },
  ]);
  const c = spec.stage.config;
  assert.deepEqual(c.entrypoint, ["/opt/hello/hello", "world"]);
  assert.deepEqual(c.cmd, ["/bin/sh", "-c", "echo hi"]);
  assert.deepEqual(c.env, { GREETING: "hello 2.0", COUNT: "3", WHERE: "/usr/share" });
  assert.equal(c.workdir, "/opt/hello");
  assert.equal(c.user, "1000:100");
  assert.deepEqual(c.expose, [{ port: 80, protocol: "tcp" }, { port: 53, protocol: "udp" }]);
  assert.deepEqual(c.volumes, ["/data"]);
  assert.deepEqual(c.healthcheck, { test: ["/bin/true"], intervalNs: 90e9, timeoutNs: 500e6, startPeriodNs: 2e9, retries: 4 });
  assert.deepEqual(c.labels, { "org.example.team": "embedded" });
  assert.equal(c.stopSignal, "SIGINT");
  assert.equal(c.stopTimeoutSeconds, 20);
  assert.deepEqual(spec.targets.map((t) => [t.name, t.config.cmd, t.config.env, t.copy.map((x) => x.dest)]), [
    ["debug", ["--verbose"], { DEBUG: "1" }, []],
    ["tests", undefined, {}, ["/opt/tests"]],
  ]);
});

test("an image reference is a base too", () => {
  const spec = parseCxfile("base: { image: registry.example:5000/team/base@sha256:abc }\n", "Cxfile");
  assert.deepEqual(spec.base, { kind: "image", ref: "registry.example:5000/team/base@sha256:abc", pos: { line: 1, column: 16 } });
});

const SUM = "ab".repeat(32);

test("a disk base comes from the context or a checksummed URL", () => {
  const local = parseCxfile("base:\n  disk: images/rootfs.img\n  arch: aarch64\n  format: raw\n", "Cxfile");
  assert.deepEqual(local.base, { kind: "disk", source: { kind: "context", path: "images/rootfs.img" }, arch: "aarch64", format: "raw", boot: { kind: "agent" }, pos: { line: 2, column: 9 } });
  const remote = parseCxfile(`base: { disk: "https://example.com/r.qcow2", sha256: "sha256:${SUM.toUpperCase()}", arch: aarch64 }\n`, "Cxfile");
  assert.deepEqual(remote.base, { kind: "disk", source: { kind: "url", url: "https://example.com/r.qcow2" }, sha256: SUM, arch: "aarch64", boot: { kind: "agent" }, pos: { line: 1, column: 15 } });
});

test("a disk base of an OS that boots itself names its boot method and files", () => {
  const boot = (extra: string) => (parseCxfile(`base: { disk: os.img, arch: aarch64, ${extra} }\n`, "Cxfile").base as { boot: unknown }).boot;
  assert.deepEqual(boot("boot: uefi"), { kind: "uefi" });
  assert.deepEqual(boot("boot: kernel, kernel: k/vmlinuz, initrd: k/initrd"), { kind: "kernel", kernel: "k/vmlinuz", initrd: "k/initrd" });
  assert.deepEqual(boot("boot: kernel, kernel: vmlinuz"), { kind: "kernel", kernel: "vmlinuz" });
  assert.deepEqual(boot("boot: firmware, firmware: u-boot.bin"), { kind: "firmware", firmware: "u-boot.bin" });
  assert.match(errorOf("base: { disk: os.img, arch: aarch64, boot: efi }\n").message, /1:44: base.boot 'efi' is not a boot method \(did you mean 'uefi'\?\)/);
  assert.match(errorOf("base: { disk: os.img, arch: aarch64, boot: uefi, kernel: vmlinuz }\n").message, /1:58: base.kernel applies to base.boot: kernel, not uefi/);
  assert.match(errorOf("base: { disk: os.img, arch: aarch64, kernel: vmlinuz }\n").message, /base.kernel applies to base.boot: kernel, not agent/);
  assert.match(errorOf("base: { disk: os.img, arch: aarch64, boot: kernel }\n").message, /1:7: base.boot: kernel needs base.kernel/);
  assert.match(errorOf("base: { disk: os.img, arch: aarch64, boot: firmware, firmware: /etc/passwd }\n").message, /base.firmware.*must be a path inside the build context/);
});

test("without the agent, what only the agent can do is refused where it is written", () => {
  const base = "base: { disk: os.img, arch: aarch64, boot: uefi }\n";
  assert.match(errorOf(`${base}copy:\n  - a: /a\n`).message, /2:1: copy needs the Containerx agent in the guest, and base.boot: uefi boots without it/);
  assert.match(errorOf(`${base}targets:\n  t:\n    entrypoint: [/x]\n`).message, /4:5: targets.t.entrypoint needs the Containerx agent/);
  const ok = parseCxfile(`${base}expose: [8080]\nlabels: { a: b }\nstop_timeout: 30\nguest: { memory: 256M }\n`, "Cxfile");
  assert.deepEqual(ok.stage.config.expose, [{ port: 8080, protocol: "tcp" }]);
});

test("a disk base is checked: checksum for URLs, arch, format, one of image and disk", () => {
  assert.match(errorOf("base: { disk: https://example.com/r.img, arch: aarch64 }\n").message, /1:15: a base.disk URL needs 'sha256'/);
  assert.match(errorOf("base: { disk: ftp://example.com/r.img, arch: aarch64 }\n").message, /is not an http\(s\) URL/);
  assert.match(errorOf("base: { disk: r.img }\n").message, /1:7: base.disk needs 'arch'/);
  assert.match(errorOf("base: { disk: r.img, arch: aarch64, format: vmdk }\n").message, /1:45: base.format 'vmdk' is not supported \(one of qcow2, raw\)/);
  assert.match(errorOf("base: { disk: r.img, arch: aarch64, sha256: abc }\n").message, /base.sha256 must be 64 hex digits/);
  assert.match(errorOf("base: { disk: ../r.img, arch: aarch64 }\n").message, /must be a path inside the build context/);
  assert.match(errorOf("base: { image: a/b, disk: r.img }\n").message, /base has both 'image' and 'disk'/);
  assert.match(errorOf("base: { image: a/b, arch: aarch64 }\n").message, /base.arch applies to base.disk, not base.image/);
  assert.match(errorOf("base: { disc: r.img }\n").message, /unknown key 'disc' in base \(did you mean 'disk'\?\)/);
});

test("args: undeclared references, bad references and escapes", () => {
  assert.match(errorOf("base: minimal/${ARCH}\n").message, /1:7: base: 'ARCH' is not declared under args/);
  assert.match(errorOf("args: { A: x }\nbase: minimal/aarch64\nworkdir: /${A\n").message, /3:10: workdir: '\$\{A' has no closing/);
  assert.match(errorOf("args: { A: x }\nbase: minimal/aarch64\nworkdir: /${A-b}\n").message, /not a valid reference/);
  const spec = parseCxfile("args: { ARCH: aarch64 }\nbase: minimal/${ARCH}\nenv: { X: \"$${ARCH}\" }\n", "Cxfile");
  assert.deepEqual(spec.stage.config.env, { X: "${ARCH}" });
  assert.deepEqual(spec.base, { kind: "named", flavour: "minimal", arch: "aarch64", pos: { line: 2, column: 7 } });
});

test("guest values are checked, extra QEMU arguments against an allow-list", () => {
  assert.match(errorOf("base: minimal/aarch64\nguest:\n  memory: lots\n").message, /3:11: guest.memory 'lots' is not a size/);
  assert.match(errorOf("base: minimal/aarch64\nguest:\n  cpus: 0\n").message, /between 1 and 64/);
  assert.match(errorOf("base: minimal/aarch64\nguest:\n  snapshot: no-thanks\n").message, /3:13: guest.snapshot must be true or false/);
  assert.equal(parseCxfile("base: minimal/aarch64\nguest:\n  snapshot: false\n", "Cxfile").guest.snapshot, false);
  assert.match(errorOf("base: minimal/aarch64\nguest:\n  qemu_args: [-monitor, stdio]\n").message, /3:15: guest.qemu_args\[0\]: '-monitor' is not an option/);
  assert.match(errorOf("base: minimal/aarch64\nguest:\n  qemu_args: [-device]\n").message, /needs a value/);
  assert.match(errorOf("base: minimal/aarch64\nguest:\n  qemu_args: [-device, \"virtio-blk-pci,id=root\"]\n").message, /id 'root' is used by the runtime/);
  assert.match(errorOf("base: minimal/aarch64\nguest:\n  memroy: 2G\n").message, /3:3: unknown key 'memroy' in guest.*did you mean 'memory'/);
  assert.match(errorOf("base: minimal/aarch64\nguest:\n  machine: \"virt -monitor\"\n").message, /not a QEMU machine name/);
});

test("config values are checked: ports, signals, durations, users, owners, globs", () => {
  assert.match(errorOf("base: minimal/aarch64\nexpose: [70000]\n").message, /2:10: expose\[0\] 70000 is not between 1 and 65535/);
  assert.match(errorOf("base: minimal/aarch64\nexpose: [80/sctp]\n").message, /is not a port/);
  assert.match(errorOf("base: minimal/aarch64\nstop_signal: SIGFOO\n").message, /2:14: stop_signal 'SIGFOO' is not a signal/);
  assert.match(errorOf("base: minimal/aarch64\nhealthcheck:\n  interval: soon\n").message, /3:13: healthcheck.interval 'soon' is not a duration/);
  assert.match(errorOf("base: minimal/aarch64\nuser: \"a b\"\n").message, /must be user or user:group/);
  assert.match(errorOf("base: minimal/aarch64\ncopy:\n  - src: a\n    dest: /a\n    owner: app\n").message, /5:12: .*must be numeric uid/);
  assert.match(errorOf("base: minimal/aarch64\ncopy:\n  - src: \"*.so\"\n    dest: /lib\n").message, /4:11: copy\[0\].dest must end with '\/' when src is a glob/);
  assert.match(errorOf("base: minimal/aarch64\nvolumes: data\n").message, /2:10: volumes must be a list/);
  assert.match(errorOf("base: minimal/aarch64\nrun: [[]]\n").message, /must not be an empty list/);
  assert.match(errorOf("base: minimal/aarch64\nstop_timeout: -1\n").message, /stop_timeout is -1; it must be between 0 and 3600/);
});

test("targets: names and keys are checked", () => {
  assert.match(errorOf("base: minimal/aarch64\ntargets:\n  Debug: {}\n").message, /3:3: target name 'Debug' is not valid/);
  assert.match(errorOf("base: minimal/aarch64\ntargets:\n  debug:\n    base: x\n").message, /4:5: unknown key 'base' in target 'debug'/);
});

test("an unknown key is reported at its line with a suggestion", () => {
  const err = errorOf("base: minimal/aarch64\ncpoy:\n  - a: /a\n");
  assert.deepEqual(err.pos, { line: 2, column: 1 });
  assert.match(err.message, /^Cxfile:2:1: unknown key 'cpoy'.*did you mean 'copy'\?/);
});

test("a misspelt key inside a copy entry points at that key", () => {
  const err = errorOf("base: minimal/aarch64\ncopy:\n  - src: a\n    dset: /b\n");
  assert.deepEqual(err.pos, { line: 4, column: 5 });
  assert.match(err.message, /did you mean 'dest'/);
});

test("bad YAML is reported with the parser's position", () => {
  const err = errorOf("base: [minimal\n");
  assert.match(err.message, /^Cxfile:\d+:\d+: invalid YAML/);
});

test("paths are checked: guest paths absolute, context paths inside the context", () => {
  assert.match(errorOf("base: minimal/aarch64\ncopy:\n  - a: relative\n").message, /3:8: .*must be an absolute guest path/);
  assert.match(errorOf("base: minimal/aarch64\ncopy:\n  - ../secret: /x\n").message, /3:5: .*inside the build context/);
  assert.match(errorOf("base: minimal/aarch64\ncopy:\n  - /etc/passwd: /x\n").message, /inside the build context/);
});

test("an unquoted octal mode is refused with the fix", () => {
  const err = errorOf("base: minimal/aarch64\ncopy:\n  - src: a\n    dest: /a\n    mode: 0755\n");
  assert.match(err.message, /5:11: copy\[0\].mode must be an octal string.*quote it/);
});

test("base is required, and reserved env names are refused", () => {
  assert.match(errorOf("copy: []\n").message, /missing 'base'/);
  assert.match(errorOf("base: minimal/aarch64\nenv:\n  CX_ACCEL: kvm\n").message, /3:3: .*reserved/);
  assert.match(errorOf("base: minimal\n").message, /1:7: base 'minimal' is not a base name/);
  assert.match(errorOf("").message, /empty/);
});

test("a run entry may be a mapping with its command and the secrets it reads", () => {
  const spec = parseCxfile([
    "base: minimal/aarch64",
    "run:",
    "  - echo plain",
    "  - command: [cat, /run/secrets/npmrc]",
    "    secrets: [npmrc, { id: licence.key, required: false }]",
  ].join("\n"), "Cxfile");
  assert.deepEqual(spec.stage.run.map((r) => [r.argv, r.secrets, r.pos.line]), [
    [["/bin/sh", "-c", "echo plain"], [], 3],
    [["cat", "/run/secrets/npmrc"], [{ id: "npmrc", required: true }, { id: "licence.key", required: false }], 4],
  ]);
  assert.match(errorOf("base: minimal/aarch64\nrun:\n  - secrets: [a]\n").message, /3:5: run\[0\] has no 'command'/);
  assert.match(errorOf("base: minimal/aarch64\nrun:\n  - { command: x, secret: [a] }\n").message, /unknown key 'secret' in run\[0\] \(did you mean 'secrets'\?\)/);
  assert.match(errorOf("base: minimal/aarch64\nrun:\n  - { command: x, secrets: [a/b] }\n").message, /run\[0\]\.secrets\[0\] 'a\/b' is not a secret id/);
  assert.match(errorOf("base: minimal/aarch64\nrun:\n  - { command: x, secrets: [a, { id: a }] }\n").message, /run\[0\]\.secrets names 'a' twice/);
});
