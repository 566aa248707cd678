import { test } from "node:test";
import assert from "node:assert/strict";
import { parseCxfile } from "../../frontend/cxfile/parse.js";
import { planBuild, takesSnapshot } from "../../frontend/plan/plan.js";
import { normalizeImageRef } from "../../frontend/plan/image-ref.js";

const opts = { hostPlatforms: [{ os: "linux", architecture: "amd64" }], buildPlatform: { os: "linux", architecture: "amd64" }, imagePrefix: "containerx/", runtimeTag: "latest" };

test("a base name resolves to its guest arch and image", () => {
  const plan = planBuild(parseCxfile("base: minimal/aarch64\ncopy:\n  - b: /b\n  - a: /a\n  - b: /c\n", "Cxfile"), opts);
  assert.equal(plan.arch, "aarch64");
  assert.equal(plan.baseImage, "docker.io/containerx/minimal:aarch64");
  assert.equal(plan.runtimeImage, "docker.io/containerx/runtime:aarch64");
  assert.deepEqual(plan.contextPaths, ["a", "b"]);
  assert.equal(plan.app.workdir, "/");
  assert.ok(plan.app.env.some((e) => e.startsWith("PATH=")));
});

test("an unknown base is an error at the base line listing what exists", () => {
  assert.throws(() => planBuild(parseCxfile("# c\nbase: minimal/sparc\n", "Cxfile"), opts), /^CxfileError: Cxfile:2:7: unknown base 'minimal\/sparc' \(available: minimal\/aarch64, minimal\/arm, minimal\/riscv64, minimal\/x86_64, minimal\/i386, minimal\/mipsel, minimal\/mips64el, minimal\/ppc64le, minimal\/mips, minimal\/mips64, minimal\/ppc64, minimal\/ppc, minimal\/m68k, minimal\/riscv32, debian\/aarch64, debian\/arm, debian\/riscv64, debian\/x86_64, debian\/i386, debian\/mipsel, debian\/mips64el, debian\/ppc64le\)/);
});

test("arches Debian has no port of have no Debian base and, without edk2, no UEFI boot", () => {
  assert.equal(planBuild(parseCxfile("base: minimal/mips64\n", "Cxfile"), opts).baseImage, "docker.io/containerx/minimal:mips64");
  assert.throws(() => planBuild(parseCxfile("base: debian/ppc64\n", "Cxfile"), opts), /^CxfileError: Cxfile:1:7: unknown base 'debian\/ppc64'/);
  assert.throws(() => planBuild(parseCxfile("base: { disk: os.img, arch: mips, boot: uefi }\n", "Cxfile"), opts),
    /1:15: base.boot: uefi has no firmware for mips: Debian ships no UEFI \(edk2\) build for it \(boot it with base.boot: kernel or base.boot: firmware; UEFI is there for aarch64, arm, riscv64, x86_64\)/);
});

test("image references are normalised the way Docker does", () => {
  assert.equal(normalizeImageRef("busybox"), "docker.io/library/busybox:latest");
  assert.equal(normalizeImageRef("containerx/minimal:aarch64"), "docker.io/containerx/minimal:aarch64");
  assert.equal(normalizeImageRef("localhost:5000/cx/runtime"), "localhost:5000/cx/runtime:latest");
  assert.equal(normalizeImageRef("reg.io/a/b@sha256:abc"), "reg.io/a/b@sha256:abc");
});

test("a disk base takes its kernel from the minimal base of its arch", () => {
  const plan = planBuild(parseCxfile("base: { disk: rootfs.img, arch: aarch64 }\n", "Cxfile"), opts);
  assert.equal(plan.arch, "aarch64");
  assert.equal(plan.baseImage, "docker.io/containerx/minimal:aarch64");
  assert.deepEqual(plan.baseDisk, { source: { kind: "context", path: "rootfs.img" }, boot: { kind: "agent" } });
  assert.equal(plan.agent, true);
  assert.deepEqual(plan.contextPaths, [], "the disk is loaded by the import step, not with the app's files");
  assert.throws(() => planBuild(parseCxfile("base: { disk: rootfs.img, arch: sparc }\n", "Cxfile"), opts), /1:15: unknown guest arch 'sparc' \(one of aarch64, arm, riscv64, x86_64, i386, mipsel, mips64el, ppc64le, mips, mips64, ppc64, ppc, m68k, riscv32\)/);
});

test("a disk that boots its own OS needs no minimal base and has no agent", () => {
  const plan = planBuild(parseCxfile("base: { disk: os.img, arch: x86_64, boot: uefi }\n", "Cxfile"), opts);
  assert.equal(plan.agent, false);
  assert.equal(plan.baseImage, undefined);
  assert.equal(plan.arch, "x86_64");
});

test("without --target the top level is the image; a target is a variant chosen by name", () => {
  const spec = parseCxfile("base: minimal/aarch64\nenv: { A: top }\ntargets:\n  debug: { env: { DEBUG: \"1\" } }\n  small: {}\n", "Cxfile");
  const main = planBuild(spec, opts);
  assert.equal(main.target, undefined);
  assert.ok(!main.app.env.includes("DEBUG=1"), "the first target is not built by default");
  assert.ok(main.app.env.includes("A=top"));
  const debug = planBuild(spec, { ...opts, target: "debug" });
  assert.equal(debug.target, "debug");
  assert.ok(debug.app.env.includes("DEBUG=1") && debug.app.env.includes("A=top"));
  assert.throws(() => planBuild(spec, { ...opts, target: "debgu" }),
    /^CxfileError: Cxfile: target 'debgu' is not defined; the Cxfile's targets: debug, small \(did you mean 'debug'\?\)/);
  assert.throws(() => planBuild(parseCxfile("base: minimal/aarch64\n", "Cxfile"), { ...opts, target: "x" }),
    /target 'x' is not defined \(the Cxfile has no targets: section; build without --target\)/);
});

test("the build saves the guest for docker run to resume, unless the Cxfile says not to or the arch table says resuming does not work there", () => {
  const plan = (text: string) => planBuild(parseCxfile(text, "Cxfile"), opts);
  assert.equal(takesSnapshot(plan("base: minimal/aarch64\n")), true);
  assert.equal(takesSnapshot(plan("base: minimal/aarch64\nguest:\n  snapshot: false\n")), false);
  assert.equal(takesSnapshot(plan("base: minimal/mipsel\n")), false);
  assert.equal(takesSnapshot(plan("base: minimal/i386\n")), true);
});
