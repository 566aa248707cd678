/**
 * virtiofsd, one per virtiofs volume: QEMU's vhost-user-fs device talks to it
 * over a unix socket and it serves the container's folder to the guest. It
 * runs as the launcher's user without a sandbox of its own (the container is
 * the sandbox, and creating namespaces would need privileges docker run does
 * not give), and exits once QEMU hangs up.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { rm } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import type { GuestArch } from "../../common/arches.js";
import type { HostShare } from "./config.js";
import type { VolumeFsSetting } from "./settings.js";
import { exists } from "../../common/exists.js";

export const VIRTIOFSD = "/usr/libexec/virtiofsd";
const SOCKET_WAIT_MS = 10_000;

export class VolumeFsError extends Error {}

export interface VolumeFsChoice {
  readonly fstype: "virtiofs" | "9p";
  readonly reason: string;
}

/**
 * virtiofs where the runtime has virtiofsd and the arch table does not say
 * virtiofs is unusable for the guest, 9p otherwise, unless CX_VOLUME_FS says which. A guest that can resume its
 * build-time snapshot takes 9p too: its volume slots are 9p devices.
 */
export function chooseVolumeFs(setting: VolumeFsSetting, virtiofsdPresent: boolean, arch: GuestArch, resumable: boolean): VolumeFsChoice {
  if (setting === "9p") return { fstype: "9p", reason: "CX_VOLUME_FS=9p" };
  if (setting === "auto" && resumable) return { fstype: "9p", reason: "the guest resumes its build-time snapshot, whose volume slots are 9p" };
  if (arch.virtiofsUnusable) {
    if (setting === "virtiofs") throw new VolumeFsError(`CX_VOLUME_FS=virtiofs, but ${arch.virtiofsUnusable}; use CX_VOLUME_FS=9p or auto`);
    return { fstype: "9p", reason: `virtiofs is unusable: ${arch.virtiofsUnusable}` };
  }
  if (virtiofsdPresent) return { fstype: "virtiofs", reason: setting === "virtiofs" ? "CX_VOLUME_FS=virtiofs" : "virtiofsd is available" };
  if (setting === "virtiofs") throw new VolumeFsError(`CX_VOLUME_FS=virtiofs, but this runtime has no ${VIRTIOFSD}; use CX_VOLUME_FS=9p or auto`);
  return { fstype: "9p", reason: `no ${VIRTIOFSD} in this runtime` };
}

export function virtiofsdArgs(share: HostShare & { fstype: "virtiofs" }): string[] {
  // cache=auto: the guest sees changes made on the host side within a second.
  return ["--socket-path", share.socket, "--shared-dir", share.hostPath, "--sandbox", "none", "--cache", "auto", "--log-level", "error"];
}

export interface ShareDaemons {
  stop(): void;
}

async function waitForSocket(daemon: ChildProcess, socket: string, stderr: () => string): Promise<void> {
  const deadline = Date.now() + SOCKET_WAIT_MS;
  for (;;) {
    if (daemon.exitCode !== null || daemon.signalCode !== null || daemon.pid === undefined) {
      throw new VolumeFsError(`virtiofsd stopped before serving the volume: ${stderr().trim() || `exit ${daemon.exitCode ?? daemon.signalCode}`}`);
    }
    if (await exists(socket)) return;
    if (Date.now() > deadline) throw new VolumeFsError(`virtiofsd did not open ${socket} within ${SOCKET_WAIT_MS / 1000}s`);
    await sleep(20);
  }
}

/** Starts one virtiofsd per virtiofs share and waits until each listens. */
export async function startShareDaemons(shares: readonly HostShare[]): Promise<ShareDaemons> {
  const daemons: ChildProcess[] = [];
  const stop = () => daemons.forEach((d) => d.kill("SIGTERM"));
  try {
    for (const share of shares) {
      if (share.fstype !== "virtiofs") continue;
      // A socket left by an earlier start of this container would look ready before virtiofsd listens.
      await rm(share.socket, { force: true });
      const daemon = spawn(VIRTIOFSD, virtiofsdArgs(share), { stdio: ["ignore", "ignore", "pipe"] });
      daemons.push(daemon);
      let stderr = "";
      daemon.stderr!.on("data", (chunk: Buffer) => {
        stderr += chunk.toString("utf8");
      });
      daemon.on("error", (err) => {
        stderr += err.message;
      });
      await waitForSocket(daemon, share.socket, () => `${share.guestPath}: ${stderr}`);
    }
  } catch (err) {
    stop();
    throw err;
  }
  return { stop };
}
