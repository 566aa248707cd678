/**
 * The VM recipe in one place: the CX_* settings, the image's guest base and
 * the room the container gives make the one VmConfig that `docker run`, the
 * build steps and the bench boot. Build and run must boot the same machine
 * (the build-time snapshot resumes only into its own), so none of them
 * assembles it from the parts.
 */
import { basename, join } from "node:path";
import { LAYOUT } from "../../common/layout.js";
import { hasAgent, readBaseManifest, vmConfigFor, type GuestBase, type VmConfig, type VmPlacement } from "./config.js";
import { SETTINGS, SettingsError } from "../../common/settings.js";
import { hasScreen } from "../../common/display.js";
import { readCgroupLimits, sizeGuest, type CgroupLimits, type GuestSize } from "./guest-size.js";
import { settingsFromEnv, type LauncherSettings } from "./settings.js";

export interface VmKit {
  readonly settings: LauncherSettings;
  readonly base: GuestBase;
  readonly size: GuestSize;
  /** The machine for one QEMU run of this guest, placed on `place`'s disk and state directory. */
  vm(place: VmPlace): VmConfig;
}

export type VmPlace = Omit<VmPlacement, "size" | "baseDir">;

export interface KitSource {
  /** The CX_* settings; this process's environment when absent. */
  readonly env?: NodeJS.ProcessEnv;
  /** Where the guest base's files are: the image's /cx/base unless a bench boots a copy. */
  readonly baseDir?: string;
  /** The container's limits; read from its cgroup when absent. */
  readonly limits?: CgroupLimits;
}

/**
 * A screen on a base whose kernel has no driver for it would stay blank: it
 * is refused where the image is built and where it runs. An OS of the app's
 * own may have a driver.
 */
function checkScreen(settings: LauncherSettings, base: GuestBase): void {
  if (!hasScreen(settings.display) || !hasAgent(base) || base.screen) return;
  throw new SettingsError(`${SETTINGS.display.name}=${settings.display}: the kernel of the ${base.flavour}/${base.arch} base has no driver for the screen (the bases of Debian's ports have one)`);
}

export async function openVmKit(source: KitSource = {}): Promise<VmKit> {
  const settings = settingsFromEnv(source.env ?? process.env);
  const baseDir = source.baseDir ?? LAYOUT.baseDir;
  const base = await readBaseManifest(join(baseDir, basename(LAYOUT.baseManifest)));
  checkScreen(settings, base);
  const size = sizeGuest(settings, source.limits ?? (await readCgroupLimits()));
  return { settings, base, size, vm: (place) => vmConfigFor(base, settings, { ...place, size, baseDir }) };
}
