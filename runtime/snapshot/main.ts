/**
 * cx-snapshot (request in $CX_STEP_REQUEST): the image's last build step.
 * Boots the finished guest once, under the VM config `docker run` uses
 * (the same kit, runtime/vm/kit.ts, under TCG), on a qcow2 of its own over the image's
 * top disk, and saves it when the agent is ready for the app: the launcher
 * resumes that instead of booting.
 */
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { LAYOUT } from "../../common/layout.js";
import { runStepMain, type SnapshotRequest } from "../../common/step-requests.js";
import { createOverlayDisk } from "../vm/overlay-disk.js";
import { machineIdentity, runtimeQemuVersion, snapshotFileFacts, type SnapshotManifest } from "../vm/snapshot.js";
import { snapshotFiles } from "../vm/config.js";
import { openVmKit } from "../vm/kit.js";
import { saveReadyGuest } from "./save.js";

const STATE_DIR = "/tmp/cx-snapshot";
/** A Debian userland under TCG on a slow arch takes tens of seconds; a hang should still end the build. */
const READY_TIMEOUT_SECONDS = 600;

async function snapshot(req: SnapshotRequest): Promise<void> {
  const kit = await openVmKit();
  await mkdir(STATE_DIR, { recursive: true });
  await mkdir(LAYOUT.snapshotDir, { recursive: true });
  await createOverlayDisk(LAYOUT.snapshotDisk, req.backing, kit.settings.diskMiB);
  // TCG, as at run time wherever the guest arch is not the host's; a guest that runs under KVM boots cold.
  const files = snapshotFiles();
  const vm = kit.vm({ disk: LAYOUT.snapshotDisk, stateDir: STATE_DIR, accel: "tcg", snapshot: { mode: "save", ...files } });
  process.stderr.write(`containerx: booting the ${kit.base.arch} guest (TCG) to save it ready for the app\n`);
  const saved = await saveReadyGuest(vm, READY_TIMEOUT_SECONDS, req.warm);
  // QEMU writes the state for its own user only; a container run with -u must read it to resume.
  await chmod(files.state, 0o644);
  const manifest: SnapshotManifest = {
    qemuVersion: await runtimeQemuVersion(),
    agentVersion: saved.agentVersion,
    identity: machineIdentity(vm),
    bootSeconds: Math.round(saved.bootSeconds * 1000) / 1000,
    files: await snapshotFileFacts(files),
  };
  await writeFile(LAYOUT.snapshotManifest, `${JSON.stringify(manifest, null, 2)}\n`);
  process.stderr.write(`containerx: saved the guest ${saved.bootSeconds.toFixed(1)}s after boot: ` +
    `${(saved.stateBytes / 1e6).toFixed(1)} MB of machine state and ${(saved.ramBytes / 1e6).toFixed(1)} MB of mapped RAM, resumed at docker run instead of a boot\n`);
  if (req.warm) {
    process.stderr.write(saved.warmed ? `containerx: the saved guest holds ${req.warm.program} in its page cache, read before the save\n`
      : `containerx: ${req.warm.program} was not found in the guest before the save; its first start reads it from the disk\n`);
  }
}

runStepMain<SnapshotRequest>("cx-snapshot", snapshot);
