import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { access, lstat, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const repo = dirname(dirname(dirname(dirname(fileURLToPath(import.meta.url)))));
const script = join(repo, "runtime/host-files.sh");

/** The dynamic loader sh was linked with, as ldd names it (the same path must exist in the copy). */
async function loaderOf(program: string): Promise<string> {
  const { stdout } = await run("ldd", [program]);
  const loader = stdout.split("\n").map((l) => l.trim().split(" ")[0]!).find((p) => p.startsWith("/"));
  assert.ok(loader, `ldd ${program} names a loader`);
  return loader;
}

test("host-files.sh copies programs with their libraries so that they run in an otherwise empty root", async () => {
  const dir = await mkdtemp(join(tmpdir(), "cx-host-files-"));
  try {
    const shared = join(dir, "shared");
    await run("sh", [script, shared, join(dir, "none"), "sh", "cat"]);
    // The root's merged-/usr links come along, and sh's link chain to dash.
    assert.ok((await lstat(join(shared, "bin"))).isSymbolicLink());
    assert.ok((await lstat(join(shared, "usr/bin/sh"))).isSymbolicLink());
    await access(join(shared, await loaderOf("/bin/sh")));
    const { stdout } = await run("chroot", [shared, "/bin/sh", "-c", "echo ran in $0"]);
    assert.match(stdout, /^ran in \/bin\/sh\n/);

    // A second layer over the first holds only what the first lacks; a pattern names a directory.
    const arch = join(dir, "arch");
    await run("sh", [script, arch, shared, "sh", "ls", "/usr/share/common-lic*"]);
    await access(join(arch, "usr/bin/ls"));
    await access(join(arch, "usr/share/common-licenses/GPL-3"));
    await assert.rejects(access(join(arch, await loaderOf("/bin/ls"))), "the loader is in the first layer");
    await assert.rejects(lstat(join(arch, "bin")), "the merged-/usr links are in the first layer");
    await run("cp", ["-a", `${arch}/.`, shared]);
    const listed = await run("chroot", [shared, "/usr/bin/ls", "/usr/share/common-licenses"]);
    assert.match(listed.stdout, /GPL-3/);

    await assert.rejects(run("sh", [script, join(dir, "bad"), shared, "no-such-program"]), /no program no-such-program on PATH/);

    // QEMU's data: every directory it searches (-L help) that this machine has, such as its PC BIOS's.
    const qemu = join(dir, "qemu");
    await run("sh", [script, qemu, shared, "qemu-data:qemu-system-x86_64"]);
    const searched = (await run("qemu-system-x86_64", ["-L", "help"])).stdout.split("\n").filter(Boolean);
    const bios = await Promise.any(searched.map(async (d) => { await access(join(d, "bios-256k.bin")); return d; }));
    await access(join(qemu, bios, "bios-256k.bin"));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
