/**
 * The container's volumes, found where Docker put them: its mount table.
 * `docker run -v`, `--mount` and the image's VOLUMEs are all mounts over the
 * container's root; each one that is a directory is shared with the guest at
 * the same path.
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { slotTag, type HostShare } from "../vm/config.js";

/**
 * Mounts engines give every container, which are not the user's data: Docker's
 * and Kubernetes' name files, containerd's (`ctr run`) tmpfs on /run, podman's
 * /run/.containerenv and /run/secrets.
 */
const ENGINE_OWN = new Set(["/", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/run", "/run/.containerenv", "/run/secrets"]);
const SYSTEM_TREES = ["/proc", "/sys", "/dev"];

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
const unescape = (field: string) => field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));

const within = (path: string, tree: string) => tree === "/" || path === tree || path.startsWith(`${tree}/`);

/**
 * Mount points from /proc/self/mountinfo that can hold user data, in mount
 * order. The mount that holds the launcher's state directory (a `--tmpfs
 * /tmp` under a read-only root) stays the container's: the guest would see
 * its own disk and sockets.
 */
export function volumeMountPoints(mountinfo: string, stateDir: string): string[] {
  const points = mountinfo.split("\n").filter(Boolean).map((line) => unescape(line.split(" ")[4] ?? ""));
  const seen = new Set<string>();
  return points.filter((p) => {
    if (!p.startsWith("/") || ENGINE_OWN.has(p) || p.startsWith("/cx/") || within(stateDir, p)) return false;
    if (SYSTEM_TREES.some((t) => p === t || p.startsWith(`${t}/`))) return false;
    if (seen.has(p)) return false;
    seen.add(p);
    return true;
  });
}

/** A volume mount point, and whether it is a directory (only those can be shared). */
export interface VolumeMount {
  readonly path: string;
  readonly directory: boolean;
}

/** The container's volume mounts, from its mount table. */
export async function readVolumeMounts(mountinfo: string, stateDir: string): Promise<VolumeMount[]> {
  return Promise.all(volumeMountPoints(mountinfo, stateDir).map(async (path) => ({ path, directory: (await stat(path).catch(() => undefined))?.isDirectory() ?? false })));
}

export interface VolumeScan {
  readonly shares: HostShare[];
  /** Mounts that cannot be shared (single files), for a note. */
  readonly skipped: string[];
}

/** How the volumes reach the guest; virtiofs needs a directory for virtiofsd's sockets. */
export type VolumeTransport = { readonly fstype: "9p" } | { readonly fstype: "virtiofs"; readonly socketDir: string };

/** Each directory mount as a share at the same path in the guest, tagged by its slot. */
export function volumeShares(mounts: readonly VolumeMount[], transport: VolumeTransport): VolumeScan {
  const shares: HostShare[] = [];
  for (const { path } of mounts.filter((m) => m.directory)) {
    const folder = { tag: slotTag(shares.length), hostPath: path, guestPath: path };
    shares.push(transport.fstype === "9p" ? { ...folder, fstype: "9p" }
      : { ...folder, fstype: "virtiofs", socket: join(transport.socketDir, `${folder.tag}.sock`) });
  }
  return { shares, skipped: mounts.filter((m) => !m.directory).map((m) => m.path) };
}
