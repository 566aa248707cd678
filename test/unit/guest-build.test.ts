import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { E2E_NEEDS, imagesArgs } from "../e2e/needs.js";
import { uBootArches } from "../e2e/u-boot.js";
import { basesToBuild, runtimeArches, selectedArches } from "../../guest-bases/arch-selection.js";
import { runtimeTag } from "../../common/arches.js";
import { busyboxApplets } from "../../guest-bases/busybox-applets.js";
import { kernelHasModule, moduleLoadOrder } from "../../guest-bases/kernel-modules.js";
import { makeFailure } from "../../guest-bases/make-failure.js";
import { CommandError } from "../../common/run.js";
import { changedExtents } from "../../runtime/populate/block-diff.js";
import { debugfsScripts } from "../../runtime/populate/debugfs-script.js";

test("modules load after their dependencies, each once", () => {
  const dep = ["kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/jbd2/jbd2.ko", "kernel/lib/crc16.ko:", "kernel/fs/jbd2/jbd2.ko: kernel/lib/crc16.ko", "kernel/drivers/virtio-blk.ko:"].join("\n");
  assert.deepEqual(moduleLoadOrder(dep, ["ext4", "virtio_blk", "crc16"]), ["kernel/lib/crc16.ko", "kernel/fs/jbd2/jbd2.ko", "kernel/fs/ext4/ext4.ko", "kernel/drivers/virtio-blk.ko"]);
  assert.throws(() => moduleLoadOrder(dep, ["nope"]), /nope not found/);
});

test("modules built into the kernel are not loaded; compressed modules are found by name", () => {
  const dep = ["kernel/fs/ext4/ext4.ko.xz: kernel/fs/jbd2/jbd2.ko.xz", "kernel/fs/jbd2/jbd2.ko.xz:"].join("\n");
  assert.deepEqual(moduleLoadOrder(dep, ["virtio_pci", "ext4"], "kernel/drivers/virtio/virtio_pci.ko\n"), ["kernel/fs/jbd2/jbd2.ko.xz", "kernel/fs/ext4/ext4.ko.xz"]);
});

test("busybox applet names are read from the binary's table", () => {
  const bin = Buffer.concat([Buffer.from("\x7fELF junk\0"), Buffer.from("[\0[[\0ash\0cat\0ls\0\0more junk")]);
  assert.deepEqual(busyboxApplets(bin), ["[", "[[", "ash", "cat", "ls"]);
  assert.throws(() => busyboxApplets(Buffer.from("no table")), /no applet table/);
});

test("debugfs scripts make parents once, replace files and set modes", () => {
  const s = debugfsScripts([
    { kind: "file", path: "/opt/a/x", mode: 0o755, source: "/ctx/x" },
    { kind: "dir", path: "/opt/a/d", mode: 0o700 },
    { kind: "symlink", path: "/opt/a/l", target: "x" },
  ]);
  assert.deepEqual(s.prepare.trim().split("\n"), ['mkdir "/opt"', 'mkdir "/opt/a"', 'rm "/opt/a/x"', 'mkdir "/opt/a/d"', 'rm "/opt/a/l"']);
  assert.ok(s.apply.includes('write "/ctx/x" "/opt/a/x"\nsif "/opt/a/x" mode 0100755'));
  assert.ok(s.apply.includes('sif "/opt/a/d" mode 040700'));
  assert.ok(s.apply.includes('symlink "/opt/a/l" "x"'));
  assert.throws(() => debugfsScripts([{ kind: "dir", path: '/a"b', mode: 0o755 }]), /not supported/);
});

test("only changed chunks of a disk image are reported, merged when adjacent", async () => {
  const dir = await mkdtemp(join(tmpdir(), "cx-diff-"));
  const a = Buffer.alloc(8 * 4096);
  const b = Buffer.from(a);
  b[4096 + 1] = 1;
  b[2 * 4096] = 2;
  b[6 * 4096 + 7] = 3;
  await writeFile(join(dir, "a"), a);
  await writeFile(join(dir, "b"), b);
  assert.deepEqual(changedExtents(join(dir, "a"), join(dir, "b"), [{ offset: 0, length: b.length }], 4096), [
    { offset: 4096, length: 8192 },
    { offset: 6 * 4096, length: 4096 },
  ]);
  assert.deepEqual(changedExtents(join(dir, "a"), join(dir, "b"), [{ offset: 0, length: 4096 }], 4096), []);
});

test("CX_ARCHES adds arches to the four first Debian ports and mips, which are always built and tested", () => {
  const ports = ["aarch64", "arm", "riscv64", "x86_64", "mips"];
  assert.deepEqual(selectedArches({}), ports);
  assert.deepEqual(selectedArches({ CX_ARCHES: "riscv32, ppc64 i386" }), ["aarch64", "arm", "riscv64", "x86_64", "i386", "mips", "ppc64", "riscv32"]);
  assert.deepEqual(selectedArches({ CX_ARCHES: "all" }), ["aarch64", "arm", "riscv64", "x86_64", "i386", "mipsel", "mips64el", "ppc64le", "mips", "mips64", "ppc64", "ppc", "m68k", "riscv32"]);
  assert.throws(() => selectedArches({ CX_ARCHES: "ppc64 sparc" }), /CX_ARCHES: unknown arch sparc; known: aarch64, .*, or all/);
});

test("a request for bases names exactly those, each once, a Debian base after the minimal base it takes its kernel from", () => {
  assert.deepEqual(basesToBuild([]), []);
  assert.deepEqual(basesToBuild(["debian/riscv64", "minimal/aarch64", "minimal/riscv64"]), ["minimal/riscv64", "minimal/aarch64", "debian/riscv64"]);
  assert.deepEqual(basesToBuild(["bases"], {}), ["minimal/aarch64", "minimal/arm", "minimal/riscv64", "minimal/x86_64", "minimal/mips",
    "debian/aarch64", "debian/arm", "debian/riscv64", "debian/x86_64"]);
  assert.ok(basesToBuild(["bases"], { CX_ARCHES: "ppc64" }).includes("minimal/ppc64"));
  assert.throws(() => basesToBuild(["debian/ppc64"]), /there is no debian\/ppc64: Debian bases exist for aarch64, arm, riscv64, x86_64/);
  assert.throws(() => basesToBuild(["minimal/sparc"]), /unknown guest base 'minimal\/sparc': ask for minimal\/<arch> or debian\/<arch> \(arches: aarch64, /);
  assert.throws(() => basesToBuild(["runtime"]), /unknown guest base 'runtime'/);
  assert.deepEqual(basesToBuild(["runtime/x86_64", "minimal/arm"]), ["minimal/arm"], "a runtime request names no base");
});

test("the runtimes a request needs: each base's arch, runtime/<arch>, every selected arch for bases or for nothing", () => {
  assert.deepEqual(runtimeArches(["debian/riscv64", "minimal/aarch64"], {}), ["aarch64", "riscv64"]);
  assert.deepEqual(runtimeArches(["runtime/x86_64", "minimal/aarch64", "runtime/aarch64"], {}), ["aarch64", "x86_64"]);
  assert.deepEqual(runtimeArches([], {}), selectedArches({}));
  assert.deepEqual(runtimeArches(["bases"], { CX_ARCHES: "ppc64" }), selectedArches({ CX_ARCHES: "ppc64" }));
  assert.throws(() => runtimeArches(["runtime/sparc"], {}), /unknown arch in 'runtime\/sparc'/);
  assert.equal(runtimeTag("latest", "riscv64"), "riscv64");
  assert.equal(runtimeTag("1.2", "riscv64"), "1.2-riscv64", "a release tags its variants as Docker images do");
});

test("every end-to-end test file says what it needs, and the test command's setup is what they need together", async () => {
  const files = (await readdir(fileURLToPath(new URL("../e2e/", import.meta.url)))).filter((f) => f.endsWith(".test.js")).map((f) => f.replace(/\.test\.js$/, ""));
  assert.deepEqual(Object.keys(E2E_NEEDS).sort(), files.sort());
  assert.deepEqual(imagesArgs(["hello", "snapshot"]), [["minimal/aarch64"]]);
  // U-Boot's arches are the selected ones that Debian builds it for: arm, riscv64 and x86_64 by default, i386 and ppc too under CX_ARCHES=all.
  const uBoot = uBootArches().map(([a]) => `runtime/${a}`).filter((r) => r !== "runtime/aarch64");
  assert.ok(["runtime/arm", "runtime/riscv64", "runtime/x86_64"].every((r) => uBoot.includes(r)));
  assert.deepEqual(imagesArgs(["registry", "own-os"]), [["minimal/aarch64", ...uBoot], ["--platforms", "all", "minimal/aarch64"]],
    "every platform only for what the registry test builds");
  const all = imagesArgs([])[0]!;
  assert.ok(all.includes("debian/riscv64") && all.includes("minimal/mips") && all.includes("runtime/x86_64"));
  assert.throws(() => imagesArgs(["helo"]), /no end-to-end test file named helo; known: hello, /);
});

test("a failed kernel or busybox build reports the compiler's reason, not make's last lines", () => {
  const stderr = "  LD      vdso.so\nriscv64-unknown-elf-ld: -shared not supported\nmake[3]: *** [vdso] Error 1\nmake: *** [Makefile:250: __sub-make] Error 2\n";
  assert.equal(makeFailure(new CommandError("make", 2, stderr), "building Linux for riscv32").message,
    "building Linux for riscv32 failed:\nriscv64-unknown-elf-ld: -shared not supported");
  assert.match(makeFailure(new CommandError("make", 2, "something odd\n"), "building busybox").message, /something odd/);
});

test("whether a kernel has a module: loadable (modules.dep, compressed or not) or built in", () => {
  const dep = "kernel/drivers/gpu/drm/tiny/bochs.ko.xz: kernel/drivers/gpu/drm/drm.ko.xz\nkernel/drivers/gpu/drm/drm.ko.xz:\n";
  const builtin = "kernel/drivers/input/evdev.ko\n";
  assert.equal(kernelHasModule(dep, builtin, "bochs"), true);
  assert.equal(kernelHasModule(dep, builtin, "evdev"), true, "built in");
  assert.equal(kernelHasModule(dep, builtin, "virtio_input"), false);
  assert.equal(kernelHasModule(dep, builtin, "bochs-drm"), false, "a name is a whole module's");
});
