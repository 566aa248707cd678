/**
 * Directories the guest-base builders fill once and then reuse (unpacked
 * sources, built kernels, busybox, musl), each named after its inputs. A
 * marker written after the fill means complete, so an interrupted fill is
 * redone rather than trusted.
 */
import { access, mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

const marker = (dir: string) => join(dir, ".complete");

export const isFilled = (dir: string) => access(marker(dir)).then(() => true, () => false);

/** Runs `fill` into an empty `dir`, unless an earlier fill completed. */
export async function fillOnce(dir: string, fill: (dir: string) => Promise<void>): Promise<void> {
  if (await isFilled(dir)) return;
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await fill(dir);
  await writeFile(marker(dir), "");
}
