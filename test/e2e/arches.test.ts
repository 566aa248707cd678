/**
 * The selected guest arches (CX_ARCHES, as bootstrap/images.sh builds them;
 * CX_ARCHES=all for every arch in the table), end to end: one Cxfile on its
 * minimal base, built by docker buildx and run by docker run under TCG. The agent's contract
 * is the same everywhere: the app's output and exit code, a volume written
 * from the guest, its two extra serial ports (written into files of the
 * volume, by the names the arch table gives them), and docker stop reaching
 * the app as SIGTERM.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ARCHES, type GuestArch } from "../../common/arches.js";
import { serialDevices } from "../../common/serial-ports.js";
import { selectedArches } from "../../guest-bases/arch-selection.js";
import { buildArchImage, docker, startReady } from "./docker.js";

const containers: string[] = [];

after(async () => {
  if (containers.length) await docker(["rm", "-f", ...containers]);
});

for (const arch of selectedArches()) {
  test(`${arch}: an app on minimal/${arch} resumed and booted, prints the guest's uname -m, exits with its code, writes a volume and its serial ports and stops on docker stop`, async () => {
    const image = await buildArchImage(arch);

    const data = await mkdtemp(join(tmpdir(), `cx-e2e-${arch}-`));
    // Both serial ports a resumed guest has, writing into files of the volume: the guest's names for them are the table's.
    const uarts = serialDevices(ARCHES[arch], 2);
    const serial = ["-e", "CX_SERIAL=file:/data/uart0 file:/data/uart1"];
    const serialWritten = async (how: string) => {
      for (const [i, dev] of uarts.entries()) {
        assert.equal(await readFile(join(data, `uart${i}`), "utf8"), `uart${i}: ${dev}\n`, `${arch} ${how}: /dev/${dev} reached its file`);
        await rm(join(data, `uart${i}`));
      }
    };
    const ran = await docker(["run", "--rm", "-e", "CX_LOG=info", ...serial, "-v", `${data}:/data`, image, "hello", ...uarts]);
    assert.equal(ran.stdout, `machine: ${ARCHES[arch].unameMachine}\nsleep 1: slept\n`, ran.stderr);
    assert.equal(ran.exitCode, 7);
    assert.match(ran.stderr, new RegExp(`containerx: ${arch} guest, TCG`));
    // Every arch resumes its snapshot but those the table says cannot, which boot without a word.
    if ((ARCHES[arch] as GuestArch).snapshotUnusable) assert.doesNotMatch(ran.stderr, /resuming|not resuming/);
    else assert.match(ran.stderr, /^containerx: resuming the guest from the image's build-time snapshot$/m, `${arch} resumes its snapshot`);
    assert.equal(await readFile(join(data, "machine"), "utf8"), `${ARCHES[arch].unameMachine}\n`);
    await rm(join(data, "machine"));
    await serialWritten("resumed");
    const cold = await docker(["run", "--rm", "-e", "CX_LOG=info", "-e", "CX_SNAPSHOT=off", ...serial, "-v", `${data}:/data`, image, "hello", ...uarts]);
    assert.deepEqual([cold.stdout, cold.exitCode], [ran.stdout, ran.exitCode], cold.stderr);
    // A booted guest shares volumes by virtiofs unless the table says why not.
    const fs = (ARCHES[arch] as GuestArch).virtiofsUnusable ? "9p" : "virtiofs";
    assert.match(cold.stderr, new RegExp(`^containerx: volumes shared by ${fs} \\(.*\\): /data$`, "m"), cold.stderr);
    assert.equal(await readFile(join(data, "machine"), "utf8"), `${ARCHES[arch].unameMachine}\n`, `${arch} wrote the volume by ${fs}`);
    await serialWritten("booted");

    const name = `cx-e2e-arch-${arch}-${process.pid}`;
    containers.push(name);
    await startReady(name, ["-v", `${data}:/data`, image, "wait"]);
    const stopped = await docker(["stop", name]);
    assert.equal(stopped.exitCode, 0, stopped.stderr);
    assert.equal((await docker(["inspect", "-f", "{{.State.ExitCode}}", name])).stdout.trim(), "0", (await docker(["logs", name])).stderr);
    assert.equal(await readFile(join(data, "stopped"), "utf8"), "stopped\n");
  });
}
