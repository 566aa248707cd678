import { ARCHES, ARCH_NAMES, hasDebianBase, isArchName, runtimeTag, type ArchName, type GuestArch } from "../../common/arches.js";
import { STANDARD_PATH } from "../../common/layout.js";
import type { ProxyEnv } from "../../common/proxy.js";
import { CxfileError, suggest, type Pos } from "../cxfile/errors.js";
import type { AppConfigSpec, CopySpec, CxfileSpec, DiskBaseSpec, GuestSpec, SecretUse, StageSpec } from "../cxfile/spec.js";
import { normalizeImageRef } from "./image-ref.js";
import type { Platform } from "./platform.js";

/** Guest-base flavours the project publishes, by name in `base:`. */
export const BASE_FLAVOURS = ["minimal", "debian"] as const;

/** A user's disk, imported as the OS base with the minimal base's kernel and agent, or with its own way to boot. */
export type BaseDisk = Omit<DiskBaseSpec, "kind" | "arch" | "pos">;

/** A run step as the build executes it: argv in the guest, with the build args as environment, and the secrets it reads. */
export interface RunStep {
  readonly argv: readonly string[];
  readonly env: readonly string[];
  readonly secrets: readonly SecretUse[];
  /** Where the Cxfile asks for it, and how errors name it: run[1], targets.debug.run[0]. */
  readonly pos: Pos;
  readonly label: string;
}

/**
 * The image config of the chosen target, all inheritance resolved: the
 * Cxfile's fields, with entrypoint, cmd and workdir defaulted and env as the
 * KEY=VALUE list an OCI config holds.
 */
export type AppConfig = Omit<AppConfigSpec, "entrypoint" | "cmd" | "env" | "workdir"> & {
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  readonly env: readonly string[];
  readonly workdir: string;
};

/** Everything the LLB conversion and the image config need, decided and validated. */
export interface BuildPlan {
  readonly arch: ArchName;
  /** How the user named the base: minimal/aarch64, the image reference, or the disk. */
  readonly baseName: string;
  /** Where the Cxfile names it. */
  readonly basePos: Pos;
  /**
   * The guest-base image: the base itself, or for a disk base the one its
   * kernel and agent come from; absent for a disk that boots without the agent.
   */
  readonly baseImage?: string;
  readonly baseDisk?: BaseDisk;
  /** Whether the Containerx agent runs the app in the guest: false for an OS booted its own way. */
  readonly agent: boolean;
  readonly runtimeImage: string;
  /** Where the image runs: one image per platform, each the runtime for it under the same guest layers. */
  readonly hostPlatforms: readonly Platform[];
  /**
   * Where the guest layers are made: BuildKit's own platform, so they are
   * made once, natively, and are the same bytes in every platform's image.
   */
  readonly buildPlatform: Platform;
  readonly target?: string;
  readonly guest: GuestSpec;
  /** Steps in the guest at build time, each its own qcow2 layer over the base. */
  readonly runs: readonly RunStep[];
  /** The proxy build args, for the run steps only. */
  readonly proxy: ProxyEnv;
  /** Files placed into the app overlay, the last layer. */
  readonly copies: readonly CopySpec[];
  /** Context paths to transfer: only what `copy` names. */
  readonly contextPaths: readonly string[];
  /** The other sources `copy` entries name with `from`, each with the paths taken from it. */
  readonly copySources: readonly { readonly from: string; readonly paths: readonly string[] }[];
  readonly app: AppConfig;
  /** --no-cache: every step is re-run. */
  readonly noCache: boolean;
}

/** Whether the image ends in a snapshot layer: only a guest with the agent can be saved ready for its app, on an arch where resuming works. */
export const takesSnapshot = (plan: Pick<BuildPlan, "agent" | "guest" | "arch">): boolean =>
  plan.agent && plan.guest.snapshot && !(ARCHES[plan.arch] as GuestArch).snapshotUnusable;

export interface PlanOptions {
  readonly hostPlatforms: readonly Platform[];
  readonly buildPlatform: Platform;
  /** Where the project's images come from; the local store by default. */
  readonly imagePrefix: string;
  /** CX_RUNTIME_TAG: the release of the runtime images, each arch's tagged by runtimeTag. */
  readonly runtimeTag: string;
  /** --target: one of the file's targets, a variant of the top level; absent, the top level is the image, as a Dockerfile's last stage is. */
  readonly target?: string;
  /** The guest arch of an image base, read from its label by the caller. */
  readonly imageBaseArch?: string;
  readonly noCache?: boolean;
  readonly proxy?: ProxyEnv;
}


/** The stages a build of `target` takes: the top level, and the target's own when one is named. */
export function chooseStage(spec: CxfileSpec, target: string | undefined): { stages: StageSpec[]; target?: string } {
  if (target === undefined) return { stages: [spec.stage] };
  const chosen = spec.targets.find((t) => t.name === target);
  if (!chosen) {
    const names = spec.targets.map((t) => t.name);
    throw new CxfileError(spec.file, undefined,
      names.length ? `target '${target}' is not defined; the Cxfile's targets: ${names.join(", ")}` : `target '${target}' is not defined`,
      names.length ? suggest(target, names) : "the Cxfile has no targets: section; build without --target");
  }
  return { stages: [spec.stage, chosen], target };
}

/** Later stages override single values and add to lists and maps, like a Dockerfile stage built FROM another. */
function mergeConfig(configs: readonly AppConfigSpec[]): AppConfig {
  const last = <K extends keyof AppConfigSpec>(key: K): AppConfigSpec[K] | undefined =>
    configs.reduce<AppConfigSpec[K] | undefined>((acc, c) => (c[key] === undefined ? acc : c[key]), undefined);
  const env = Object.assign({ PATH: STANDARD_PATH }, ...configs.map((c) => c.env)) as Record<string, string>;
  const ports = new Map(configs.flatMap((c) => c.expose).map((p) => [`${p.port}/${p.protocol}`, p]));
  const user = last("user");
  const healthcheck = last("healthcheck");
  const stopSignal = last("stopSignal");
  const stopTimeoutSeconds = last("stopTimeoutSeconds");
  return {
    entrypoint: last("entrypoint") ?? [],
    cmd: last("cmd") ?? [],
    env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    workdir: last("workdir") ?? "/",
    ...(user === undefined ? {} : { user }),
    expose: [...ports.values()],
    volumes: [...new Set(configs.flatMap((c) => c.volumes))],
    ...(healthcheck === undefined ? {} : { healthcheck }),
    labels: Object.assign({}, ...configs.map((c) => c.labels)) as Record<string, string>,
    ...(stopSignal === undefined ? {} : { stopSignal }),
    ...(stopTimeoutSeconds === undefined ? {} : { stopTimeoutSeconds }),
  };
}

type ResolvedBase = Pick<BuildPlan, "arch" | "baseName" | "baseImage" | "baseDisk" | "agent">;

const hasUefi = (arch: ArchName) => (ARCHES[arch] as GuestArch).uefi !== undefined;
const hasFlavour = (arch: ArchName, flavour: (typeof BASE_FLAVOURS)[number]) => flavour === "minimal" || hasDebianBase(arch);

function checkArch(spec: CxfileSpec, arch: string, pos: Pos): ArchName {
  if (!isArchName(arch)) throw new CxfileError(spec.file, pos, `unknown guest arch '${arch}'`, `one of ${ARCH_NAMES.join(", ")}`);
  return arch;
}

function resolveBase(spec: CxfileSpec, opts: PlanOptions): ResolvedBase {
  const base = spec.base;
  const published = (flavour: string, arch: string) => normalizeImageRef(`${opts.imagePrefix}${flavour}:${arch}`);
  if (base.kind === "image") {
    const arch = opts.imageBaseArch;
    if (!arch || !isArchName(arch)) {
      throw new CxfileError(spec.file, base.pos, `image '${base.ref}' is not a Containerx guest base`,
        arch ? `its guest arch '${arch}' is not one of ${ARCH_NAMES.join(", ")}` : "it has no org.containerx.base.arch label");
    }
    return { arch, baseName: base.ref, baseImage: normalizeImageRef(base.ref), agent: true };
  }
  if (base.kind === "disk") {
    const { kind: _kind, arch, pos, ...disk } = base;
    const name = disk.source.kind === "url" ? disk.source.url : disk.source.path;
    const checked = checkArch(spec, arch, pos);
    if (disk.boot.kind === "uefi" && !hasUefi(checked)) {
      throw new CxfileError(spec.file, pos, `base.boot: uefi has no firmware for ${arch}: Debian ships no UEFI (edk2) build for it`,
        `boot it with base.boot: kernel or base.boot: firmware; UEFI is there for ${ARCH_NAMES.filter(hasUefi).join(", ")}`);
    }
    if (disk.boot.kind !== "agent") return { arch: checked, baseName: `disk ${name}`, baseDisk: disk, agent: false };
    return { arch: checked, baseName: `disk ${name}`, baseImage: published("minimal", arch), baseDisk: disk, agent: true };
  }
  const valid = BASE_FLAVOURS.flatMap((f) => ARCH_NAMES.filter((a) => hasFlavour(a, f)).map((a) => `${f}/${a}`));
  const name = `${base.flavour}/${base.arch}`;
  if (!valid.includes(name)) {
    throw new CxfileError(spec.file, base.pos, `unknown base '${name}'`, `available: ${valid.join(", ")}`);
  }
  return { arch: base.arch as ArchName, baseName: name, baseImage: published(base.flavour, base.arch), agent: true };
}

const pathsFrom = (copies: readonly CopySpec[], from: string | undefined) =>
  [...new Set(copies.filter((c) => c.from === from).map((c) => c.src))].sort();

/** A command as the user wrote it: the shell string of `/bin/sh -c`, or the argv joined. */
export function commandText(argv: readonly string[]): string {
  const shell = argv.length === 3 && argv[0] === "/bin/sh" && argv[1] === "-c";
  return (shell ? argv[2] : argv.join(" ")).trim();
}

export function planBuild(spec: CxfileSpec, opts: PlanOptions): BuildPlan {
  const { stages, target } = chooseStage(spec, opts.target);
  const argEnv = spec.args.map((a) => `${a.name}=${a.value}`);
  const copies = stages.flatMap((s) => s.copy);
  const prefixes = target === undefined ? [""] : ["", `targets.${target}.`];
  const base = resolveBase(spec, opts);
  return {
    ...base,
    runtimeImage: normalizeImageRef(`${opts.imagePrefix}runtime:${runtimeTag(opts.runtimeTag, base.arch)}`),
    hostPlatforms: opts.hostPlatforms,
    buildPlatform: opts.buildPlatform,
    ...(target === undefined ? {} : { target }),
    guest: spec.guest,
    basePos: spec.base.pos,
    runs: stages.flatMap((s, k) => s.run.map((r, i) => ({
      argv: r.argv, env: [`PATH=${STANDARD_PATH}`, ...argEnv], secrets: r.secrets, pos: r.pos, label: `${prefixes[k]}run[${i}]`,
    }))),
    proxy: opts.proxy ?? {},
    copies,
    contextPaths: pathsFrom(copies, undefined),
    copySources: [...new Set(copies.flatMap((c) => (c.from === undefined ? [] : [c.from])))].sort()
      .map((from) => ({ from, paths: pathsFrom(copies, from) })),
    app: mergeConfig(stages.map((s) => s.config)),
    noCache: opts.noCache ?? false,
  };
}
