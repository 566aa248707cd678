import type { Checker } from "./checker.js";
import { BASE_KEYS, type BaseSpec, type DiskBaseSpec, type DiskFormat } from "./spec.js";
import type { YNode } from "./yaml-positions.js";

const DISK_FORMATS: readonly DiskFormat[] = ["qcow2", "raw"];
const BASE_FORMS = "base: minimal/aarch64, base: { image: ref }, or base: { disk: rootfs.img, arch: aarch64 }";

function parseSha256(c: Checker, node: YNode): string {
  const text = c.string(node, "base.sha256");
  const m = /^(?:sha256:)?([0-9a-f]{64})$/.exec(text.toLowerCase());
  if (!m) c.fail(node.pos, "base.sha256 must be 64 hex digits", "print it with: sha256sum <file>");
  return m[1];
}

function parseDisk(c: Checker, node: YNode, fields: Map<string, YNode>, disk: YNode): DiskBaseSpec {
  const archNode = fields.get("arch") ?? c.fail(node.pos, "base.disk needs 'arch', the guest arch of the disk", "arch: aarch64");
  const text = c.string(disk, "base.disk");
  const sha256 = fields.has("sha256") ? parseSha256(c, fields.get("sha256")!) : undefined;
  let source: DiskBaseSpec["source"];
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    let url: URL | undefined;
    try { url = new URL(text); } catch { /* reported below */ }
    if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) {
      c.fail(disk.pos, `base.disk '${text}' is not an http(s) URL`, "a path in the build context, or https://host/disk.img");
    }
    if (sha256 === undefined) c.fail(disk.pos, "a base.disk URL needs 'sha256'", "the download is checked against it; print it with: sha256sum <file>");
    source = { kind: "url", url: url.href };
  } else {
    source = { kind: "context", path: c.contextPath(disk, "base.disk", false) };
  }
  const formatNode = fields.get("format");
  let format: DiskFormat | undefined;
  if (formatNode) {
    const f = c.string(formatNode, "base.format");
    if (!DISK_FORMATS.includes(f as DiskFormat)) c.fail(formatNode.pos, `base.format '${f}' is not supported`, `one of ${DISK_FORMATS.join(", ")}`);
    format = f as DiskFormat;
  }
  return {
    kind: "disk", source, arch: c.string(archNode, "base.arch"), pos: disk.pos,
    ...(sha256 === undefined ? {} : { sha256 }),
    ...(format === undefined ? {} : { format }),
  };
}

export function parseBase(c: Checker, node: YNode): BaseSpec {
  if (typeof node.value === "object" && node.value !== null && !Array.isArray(node.value)) {
    const fields = new Map(c.entries(node, BASE_KEYS, "base").map((e) => [e.name, e.value]));
    const image = fields.get("image");
    const disk = fields.get("disk");
    if (image && disk) c.fail(disk.pos, "base has both 'image' and 'disk'", "choose one");
    if (disk) return parseDisk(c, node, fields, disk);
    if (!image) c.fail(node.pos, "base needs 'image' or 'disk'", BASE_FORMS);
    const extra = [...fields.keys()].find((k) => k !== "image");
    if (extra) c.fail(fields.get(extra)!.pos, `base.${extra} applies to base.disk, not base.image`);
    const ref = c.string(image, "base.image");
    if (/\s/.test(ref)) c.fail(image.pos, `base.image '${ref}' is not an image reference`);
    return { kind: "image", ref, pos: image.pos };
  }
  const name = c.string(node, "base");
  const m = /^([a-z0-9-]+)\/([a-z0-9_]+)$/.exec(name);
  if (!m) c.fail(node.pos, `base '${name}' is not a base name`, BASE_FORMS);
  return { kind: "named", flavour: m[1], arch: m[2], pos: node.pos };
}
