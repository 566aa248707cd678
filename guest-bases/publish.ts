/**
 * What every guest-base builder shares: fixed inputs for reproducible disks,
 * the ext4 image made without mounting, and publishing the /cx/base tree as a
 * local image that records its inputs (so an unchanged base is not rebuilt).
 */
import { fileURLToPath } from "node:url";
import { HOST_PLATFORMS } from "../common/host-platforms.js";
import { run } from "../common/run.js";
import { packTar, treeEntries } from "../common/tar.js";

export const CACHE = process.env.CX_CACHE_DIR ?? "/var/cache/containerx";
/** Fixed so the same inputs give the same disk bytes. */
export const SOURCE_DATE_EPOCH = process.env.SOURCE_DATE_EPOCH ?? "1700000000";
const FS_UUID = "c0a7a1e2-0000-4000-8000-000000000001";
const INPUTS_LABEL = "org.containerx.base.inputs";
/** The host platforms an image has a manifest for, as bootstrap/debian-image.sh labels its images too. */
const PLATFORMS_LABEL = "org.containerx.platforms";
const BUILD_PLATFORMS = fileURLToPath(new URL("../../bootstrap/build-platforms.sh", import.meta.url));

export const log = (msg: string) => process.stderr.write(`guest-base: ${msg}\n`);
export const trace = "guest-base: ";

/** The directory a base flavour for an arch is built in. */
export const workDir = (flavour: string, arch: string) => `${CACHE}/guest-bases/${flavour}-${arch}`;

export async function existingInputs(image: string): Promise<string | undefined> {
  try {
    return (await run("docker", ["image", "inspect", "-f", `{{index .Config.Labels "${INPUTS_LABEL}"}}`, image])).trim();
  } catch {
    return undefined;
  }
}

/** The host platforms asked for: bootstrap/images.sh sets them; a builder run on its own publishes for every host platform. */
const askedPlatforms = () => process.env.CX_HOST_PLATFORMS ?? HOST_PLATFORMS.join(",");

const publishedPlatforms = async (image: string) =>
  (await run("docker", ["image", "inspect", "-f", `{{index .Config.Labels "${PLATFORMS_LABEL}"}}`, image]).catch(() => "")).trim().split(",").filter(Boolean);

/**
 * Whether `image` was published from `inputs` for every host platform asked
 * for now: a base published for amd64 alone is published again (seconds) when
 * a multi-platform build asks for arm64 too.
 */
export async function upToDate(image: string, inputs: string): Promise<boolean> {
  if ((await existingInputs(image)) !== inputs) return false;
  const has = await publishedPlatforms(image);
  return askedPlatforms().split(",").every((p) => has.includes(p));
}

/** An ext4 disk image of `rootfs`, as qcow2, made without mounting anything. */
export async function ext4Qcow2(rootfs: string, raw: string, qcow2: string, size: string, opts: { compressed?: boolean } = {}): Promise<void> {
  await run("/sbin/mke2fs", ["-q", "-F", "-t", "ext4", "-L", "cxroot", "-U", FS_UUID,
    "-E", `root_owner=0:0,hash_seed=${FS_UUID}`, "-d", rootfs, raw, size],
    { env: { E2FSPROGS_FAKE_TIME: SOURCE_DATE_EPOCH }, trace });
  // Compressed clusters stay readable; the guest's writes go to overlays anyway.
  await run("qemu-img", ["convert", ...(opts.compressed ? ["-c"] : []), "-f", "raw", "-O", "qcow2", raw, qcow2], { trace });
}

/** Publishes `out` (vmlinuz, initrd.img, disk.qcow2, base.json) as the image `image`. */
export async function publishBase(out: string, image: string, arch: string, flavour: string, inputs: string): Promise<void> {
  // The platforms the image had stay: a one-platform run after a multi-platform one drops none.
  const platforms = [...new Set([...askedPlatforms().split(","), ...(await publishedPlatforms(image))])].sort().join(",");
  const dockerfile = [
    "FROM scratch",
    "COPY base/ /cx/base/",
    `LABEL ${INPUTS_LABEL}="${inputs}" ${PLATFORMS_LABEL}="${platforms}" org.containerx.base.arch="${arch}" org.containerx.base.flavour="${flavour}"`,
  ].join("\n");
  // The context goes as a tar on stdin, not as a directory: buildx keeps a
  // synced copy of a context directory per base name and skips files whose
  // size and mtime match, so one base's files of equal size and date would
  // stand in for another's (seen: minimal:mips published with ppc64's
  // base.json). Every entry is dated SOURCE_DATE_EPOCH and root's, so the
  // layer is the same bytes on every machine.
  const context = packTar([...(await treeEntries(out, "base")), { name: "Dockerfile", kind: "data", data: Buffer.from(dockerfile) }],
    new Date(Number(SOURCE_DATE_EPOCH) * 1000));
  // A guest base has no host part, but BuildKit takes an image for the
  // platform of the step that uses it: one manifest per host platform, all
  // with the same layer, for the platforms bootstrap/images.sh was asked for.
  await run("bash", [BUILD_PLATFORMS, image, platforms, "-"], { trace, input: context });
  log(`built ${image}`);
}
