import type { Checker } from "./checker.js";
import { BOOT_KINDS, type BootKind } from "../../common/layout.js";
import { suggest } from "./errors.js";
import { BASE_KEYS, type BaseSpec, type DiskBaseSpec, type DiskBootSpec, type DiskFormat } from "./spec.js";
import type { YNode } from "./yaml-positions.js";

const DISK_FORMATS: readonly DiskFormat[] = ["qcow2", "raw"];
const BASE_FORMS = "base: minimal/aarch64, base: { image: ref }, or base: { disk: rootfs.img, arch: aarch64 [, boot: uefi] }";

function parseSha256(c: Checker, node: YNode): string {
  const text = c.string(node, "base.sha256");
  const m = /^(?:sha256:)?([0-9a-f]{64})$/.exec(text.toLowerCase());
  if (!m) c.fail(node.pos, "base.sha256 must be 64 hex digits", "print it with: sha256sum <file>");
  return m[1];
}

/** The files each boot method takes, and which of them it needs. */
const BOOT_FILES: Readonly<Record<BootKind, { readonly takes: readonly BootFile[]; readonly needs?: BootFile }>> = {
  agent: { takes: [] },
  kernel: { takes: ["kernel", "initrd"], needs: "kernel" },
  uefi: { takes: [] },
  firmware: { takes: ["firmware"], needs: "firmware" },
};
type BootFile = "kernel" | "initrd" | "firmware";
const BOOT_FILE_KEYS: readonly BootFile[] = ["kernel", "initrd", "firmware"];

function parseBoot(c: Checker, node: YNode, fields: Map<string, YNode>): DiskBootSpec {
  const bootNode = fields.get("boot");
  const kind = bootNode ? c.string(bootNode, "base.boot") : "agent";
  if (!(BOOT_KINDS as readonly string[]).includes(kind)) {
    c.fail(bootNode!.pos, `base.boot '${kind}' is not a boot method`, suggest(kind, BOOT_KINDS));
  }
  const rule = BOOT_FILES[kind as BootKind];
  for (const key of BOOT_FILE_KEYS) {
    const given = fields.get(key);
    if (given && !rule.takes.includes(key)) {
      const takers = BOOT_KINDS.filter((k) => BOOT_FILES[k].takes.includes(key));
      c.fail(given.pos, `base.${key} applies to base.boot: ${takers.join(" or ")}, not ${kind}`);
    }
  }
  if (rule.needs && !fields.has(rule.needs)) c.fail(node.pos, `base.boot: ${kind} needs base.${rule.needs}`, `a file in the build context, for example ${rule.needs}: ${rule.needs === "kernel" ? "vmlinuz" : "u-boot.bin"}`);
  const path = (key: BootFile) => c.contextPath(fields.get(key)!, `base.${key}`, false);
  switch (kind as BootKind) {
    case "kernel":
      return { kind: "kernel", kernel: path("kernel"), ...(fields.has("initrd") ? { initrd: path("initrd") } : {}) };
    case "firmware":
      return { kind: "firmware", firmware: path("firmware") };
    case "uefi":
      return { kind: "uefi" };
    case "agent":
      return { kind: "agent" };
  }
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
    kind: "disk", source, arch: c.string(archNode, "base.arch"), boot: parseBoot(c, node, fields), pos: disk.pos,
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
