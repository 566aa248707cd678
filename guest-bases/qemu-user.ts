/**
 * Running a guest arch's programs on the host under qemu-user, through the
 * binfmt_misc handlers of Debian's qemu-user-static: how the Debian bases'
 * second stage runs, in a chroot instead of a whole emulated machine.
 */
import { readFile, writeFile } from "node:fs/promises";
import type { GuestArch } from "../common/arches.js";
import { log } from "./publish.js";
import { exists } from "../common/exists.js";

const BINFMT = "/proc/sys/fs/binfmt_misc";

/** qemu-user's name for an arch: qemu-<name>-static, /usr/lib/binfmt.d/qemu-<name>.conf. */
export const qemuUserName = (arch: GuestArch) => arch.qemuUserName ?? arch.qemuBinary.replace(/^qemu-system-/, "");

/**
 * Registers the arch's qemu-user handler unless it is there or the host runs
 * the arch natively (qemu-user-static ships no handler for the host's own arch).
 * The F flag in Debian's entry opens the interpreter now, so it runs inside a chroot.
 */
export async function ensureBinfmt(arch: GuestArch): Promise<void> {
  const name = qemuUserName(arch);
  const conf = `/usr/lib/binfmt.d/qemu-${name}.conf`;
  if (!(await exists(conf))) return;
  if (await exists(`${BINFMT}/qemu-${name}`)) return;
  if (!(await exists(`${BINFMT}/register`))) throw new Error(`${BINFMT} is not mounted: bootstrap/host.sh mounts it`);
  await writeFile(`${BINFMT}/register`, (await readFile(conf, "utf8")).trim());
  log(`registered qemu-${name} with binfmt_misc`);
}
