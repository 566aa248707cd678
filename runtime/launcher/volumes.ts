/**
 * The container's volumes, found where Docker put them: its mount table.
 * `docker run -v`, `--mount` and the image's VOLUMEs are all mounts over the
 * container's root; each one that is a directory is shared with the guest at
 * the same path.
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { slotTag, type HostShare } from "./qemu-args.js";

/** Mounts every container has, which are not the user's data. */
const DOCKER_OWN = new Set(["/", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf"]);
const SYSTEM_TREES = ["/proc", "/sys", "/dev"];

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
const unescape = (field: string) => field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));

/** Mount points from /proc/self/mountinfo that can hold user data, in mount order. */
export function volumeMountPoints(mountinfo: string): string[] {
  const points = mountinfo.split("\n").filter(Boolean).map((line) => unescape(line.split(" ")[4] ?? ""));
  const seen = new Set<string>();
  return points.filter((p) => {
    if (!p.startsWith("/") || DOCKER_OWN.has(p) || p.startsWith("/cx/")) return false;
    if (SYSTEM_TREES.some((t) => p === t || p.startsWith(`${t}/`))) return false;
    if (seen.has(p)) return false;
    seen.add(p);
    return true;
  });
}

export interface VolumeScan {
  readonly shares: HostShare[];
  /** Mounts that cannot be shared (single files), for a note. */
  readonly skipped: string[];
}

/** How the volumes reach the guest; virtiofs needs a directory for virtiofsd's sockets. */
export type VolumeTransport = { readonly fstype: "9p" } | { readonly fstype: "virtiofs"; readonly socketDir: string };

export async function containerVolumes(mountinfo: string, transport: VolumeTransport): Promise<VolumeScan> {
  const shares: HostShare[] = [];
  const skipped: string[] = [];
  for (const path of volumeMountPoints(mountinfo)) {
    const st = await stat(path).catch(() => undefined);
    if (!st?.isDirectory()) {
      skipped.push(path);
      continue;
    }
    const folder = { tag: slotTag(shares.length), hostPath: path, guestPath: path };
    shares.push(transport.fstype === "9p" ? { ...folder, fstype: "9p" }
      : { ...folder, fstype: "virtiofs", socket: join(transport.socketDir, `${folder.tag}.sock`) });
  }
  return { shares, skipped };
}
