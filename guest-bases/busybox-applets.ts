/**
 * Reads the applet names compiled into a busybox binary of any architecture,
 * so the rootfs gets its symlinks without running the foreign binary.
 * Busybox stores them as one NUL-separated, sorted table starting "[\0[[\0".
 */
export function busyboxApplets(binary: Buffer): string[] {
  const start = binary.indexOf(Buffer.from("[\0[[\0", "latin1"));
  if (start < 0) throw new Error("no applet table found in the busybox binary");
  const names: string[] = [];
  let pos = start;
  for (;;) {
    const end = binary.indexOf(0, pos);
    if (end < 0 || end === pos) break;
    const name = binary.toString("latin1", pos, end);
    if (!/^[a-z0-9_.[-]+$/.test(name)) break;
    names.push(name);
    pos = end + 1;
  }
  return names;
}
