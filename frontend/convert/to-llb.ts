import { guestEnv } from "../../common/guest-env.js";
import type { ProxyEnv } from "../../common/proxy.js";
import type { NamedSource } from "../gateway/named-contexts.js";
import { backingPath, LAYOUT, runLayerDir, STANDARD_PATH, STEP_REQUEST_ENV, topDiskAfter } from "../../common/layout.js";
import type { ImportBaseRequest, ImportBoot, PopulateRequest, RunStepRequest, SnapshotRequest } from "../../common/step-requests.js";
import { commandText, takesSnapshot, type BaseDisk, type BuildPlan } from "../plan/plan.js";
import type { Pos } from "../cxfile/errors.js";
import { exec, http, image, local, type ExecMount } from "../llb/ops.js";
import { addLayer, type LayerSource } from "./image-layer.js";
import type { Output } from "../llb/graph.js";
import { formatPlatform, guestPlatform, type Platform } from "../plan/platform.js";

/** Where the build context is mounted in the populate step. */
const CONTEXT_MOUNT = "/cx/context";
/** Where the import step finds the user's files (disk, boot files), a downloaded disk, and the base that lends it a kernel. */
const BASE_CONTEXT_MOUNT = "/cx/base-context";
const DOWNLOAD_MOUNT = "/cx/download";
/** Where the populate step finds the other sources of `copy: { from }`, one directory each. */
const NAMED_MOUNT = "/cx/named";
const KERNEL_BASE_MOUNT = "/cx/kernel-base";
const DOWNLOAD_NAME = "disk";
const STEP_PATH = `PATH=${STANDARD_PATH}`;
const MAX_NAME = 80;

export interface ConvertOptions {
  readonly sessionId: string;
  readonly contextName: string;
  /** .dockerignore patterns of the context. */
  readonly excludePatterns: readonly string[];
  /** What each `copy: { from }` name resolved to (gateway/named-contexts.ts). */
  readonly copySources?: ReadonlyMap<string, NamedSource>;
  /**
   * SOURCE_DATE_EPOCH, when given: the time of the files written into the
   * guest disk, and of every file in the layers the build adds (0 without it).
   */
  readonly sourceDateEpoch?: number;
}

const shorten = (text: string) => (text.length > MAX_NAME ? `${text.slice(0, MAX_NAME - 1)}…` : text);

/** What a run step shows in progress: its command on one line, shortened. */
const progressText = (argv: readonly string[]) => shorten(commandText(argv).replace(/\s+/g, " "));

/** The import step's request, its boot files named by where they are mounted. */
function importRequest(plan: BuildPlan, disk: BaseDisk, diskPath: string, sourceDateEpoch: number | undefined): ImportBaseRequest {
  const inContext = (path: string) => `${BASE_CONTEXT_MOUNT}/${path}`;
  const b = disk.boot;
  const boot: ImportBoot = b.kind === "agent" ? { kind: "agent", kernelBase: KERNEL_BASE_MOUNT }
    : b.kind === "kernel" ? { kind: "kernel", kernel: inContext(b.kernel), ...(b.initrd ? { initrd: inContext(b.initrd) } : {}) }
    : b.kind === "firmware" ? { kind: "firmware", firmware: inContext(b.firmware) }
    : { kind: "uefi" };
  return {
    disk: diskPath,
    ...(disk.format ? { format: disk.format } : {}),
    ...(disk.sha256 && disk.source.kind === "context" ? { sha256: disk.sha256 } : {}),
    arch: plan.arch,
    boot,
    out: LAYOUT.baseDir,
    ...(sourceDateEpoch === undefined ? {} : { sourceDateEpoch }),
  };
}

/** Context paths a disk base reads: the disk unless downloaded, and its own boot files. */
function baseContextPaths(disk: BaseDisk): string[] {
  const b = disk.boot;
  return [
    ...(disk.source.kind === "context" ? [disk.source.path] : []),
    ...(b.kind === "kernel" ? [b.kernel, ...(b.initrd ? [b.initrd] : [])] : []),
    ...(b.kind === "firmware" ? [b.firmware] : []),
  ];
}

/** The runtime image for a platform, named the same way wherever it is used so equal ops stay one op. */
const runtimeImage = (plan: BuildPlan, platform: Platform) =>
  image(plan.runtimeImage, platform, `[runtime] ${plan.runtimeImage} for ${formatPlatform(platform)}`);

/**
 * A published or referenced base as is; a disk base imported by
 * cx-import-base, with the minimal base's kernel and agent or with its own
 * boot files.
 */
function osBase(plan: BuildPlan, runtime: Output, opts: ConvertOptions): LayerSource {
  const platform = plan.buildPlatform;
  const disk = plan.baseDisk;
  const published = plan.baseImage === undefined ? undefined : image(plan.baseImage, platform,
    disk ? `[base] fetch kernel and agent from ${plan.baseImage}` : `[base] fetch OS base ${plan.baseName}`, [plan.basePos]);
  if (!disk) return { from: published!, dir: LAYOUT.baseDir };
  const src = disk.source;
  const mounts: ExecMount[] = [];
  const contextPaths = baseContextPaths(disk);
  if (contextPaths.length) {
    const files = local(opts.contextName, { sessionId: opts.sessionId, includePatterns: contextPaths, sharedKeyHint: `${opts.contextName}:base` },
      `[base] load ${contextPaths.join(", ")} from the build context`);
    mounts.push({ dest: BASE_CONTEXT_MOUNT, from: files, readonly: true });
  }
  if (src.kind === "url") {
    mounts.push({ dest: DOWNLOAD_MOUNT, from: http(src.url, disk.sha256!, DOWNLOAD_NAME, `[base] download ${src.url}`), readonly: true });
  }
  if (published) mounts.push({ dest: KERNEL_BASE_MOUNT, from: published, selector: LAYOUT.baseDir, readonly: true });
  const request = importRequest(plan, disk, src.kind === "url" ? `${DOWNLOAD_MOUNT}/${DOWNLOAD_NAME}` : `${BASE_CONTEXT_MOUNT}/${src.path}`,
    opts.sourceDateEpoch);
  const [imported] = exec({
    root: runtime,
    args: [LAYOUT.importBase],
    env: [STEP_PATH, `${STEP_REQUEST_ENV}=${JSON.stringify(request)}`],
    mounts: [...mounts, { dest: LAYOUT.baseDir, output: true }, { dest: "/tmp" }],
    platform,
    network: "none",
    positions: [plan.basePos],
    name: `[base] import ${plan.baseName} as the OS base${plan.agent ? "" : ` (boots with ${disk.boot.kind}, no agent)`}`,
  });
  return { from: imported, dir: "/" };
}

/** The files of a `copy: { from }` source: another local context, an image's root, or a downloaded file named "context". */
export function copySourceOutput(plan: BuildPlan, source: BuildPlan["copySources"][number], opts: ConvertOptions): Output {
  const named = opts.copySources?.get(source.from);
  if (!named) throw new Error(`no source resolved for copy from '${source.from}'`);
  switch (named.kind) {
    case "local":
      return local(named.name, { sessionId: named.sessionId, includePatterns: [...source.paths], sharedKeyHint: `named:${named.name}` },
        `[context ${source.from}] load ${source.paths.length} path(s)`);
    case "image":
      // Its files go into the guest: the image for the guest's platform, not the builder's.
      return image(named.ref, guestPlatform(plan.arch), `[context ${source.from}] ${named.ref}`);
    case "http":
      return http(named.url, undefined, "context", `[context ${source.from}] download ${named.url}`);
  }
}

/** The build-context files the app's `copy` entries name: one op, whoever asks, so BuildKit transfers them once. */
export const appContext = (plan: BuildPlan, opts: ConvertOptions): Output => local(opts.contextName, {
  sessionId: opts.sessionId,
  includePatterns: plan.contextPaths,
  excludePatterns: opts.excludePatterns,
  sharedKeyHint: opts.contextName,
}, `[context] load ${plan.contextPaths.length} path(s) from the build context`);

/**
 * The app image for one host platform as LLB, layers over the runtime image:
 *   runtime (QEMU, launcher)  ← docker-image source, for `host`
 *   + OS base (/cx/base)      ← copied from the guest-base image
 *   + one layer per run step  ← qcow2 over the one before, written by the guest booted at build time
 *   + app overlay (/cx/app)   ← qcow2 over the last, made by cx-populate
 *   + snapshot (/cx/snapshot) ← the guest booted once and saved, unless guest.snapshot: false
 * Each run step depends only on the base and the steps before it, so a
 * change to the app's files re-runs none of them. Every step runs on the
 * build platform with its runtime: the guest layers do not depend on
 * `host`, so the graphs of all host platforms share them (BuildKit makes
 * them once) and the images carry the same layer bytes.
 */
export function planToLLB(plan: BuildPlan, opts: ConvertOptions, host: Platform): Output {
  const platform = plan.buildPlatform;
  const tools = runtimeImage(plan, platform);
  const base = osBase(plan, tools, opts);
  const stack = (onto: Output, source: LayerSource, dest: string, name: string) =>
    addLayer({ onto, source, dest, tools, epoch: opts.sourceDateEpoch ?? 0, platform, name: `${name} (${formatPlatform(host)})` });
  const withBase = stack(runtimeImage(plan, host), base, LAYOUT.baseDir, `[image] add OS base layer ${plan.baseName}`);
  // An OS without the agent has no run steps or app files: the image is its base.
  if (!plan.agent) return withBase;
  const vmEnv = [STEP_PATH, ...guestEnv(plan.guest)];
  const baseMount: ExecMount = { dest: LAYOUT.baseDir, from: base.from, selector: base.dir, readonly: true };

  const layers: Output[] = [];
  /**
   * A step of the runtime's that works on the guest disk: its request in the
   * env, the disk chain so far read-only where the step's backing paths expect
   * it, its own mounts, and scratch space (the root is read-only, see exec).
   */
  const diskStep = (step: {
    bin: string; env: readonly string[]; request: object; mounts: ExecMount[]; network?: "none"; name: string; positions?: readonly Pos[];
    proxy?: ProxyEnv;
  }): Output => {
    const [out] = exec({
      root: tools,
      args: [step.bin],
      env: [...step.env, `${STEP_REQUEST_ENV}=${JSON.stringify(step.request)}`],
      mounts: [baseMount, ...layers.map((from, j) => ({ dest: runLayerDir(j), from, readonly: true })), ...step.mounts, { dest: "/tmp" }],
      platform,
      ...(step.network ? { network: step.network } : {}),
      name: step.name,
      ...(step.positions ? { positions: step.positions } : {}),
      ...(step.proxy ? { proxy: step.proxy } : {}),
    });
    return out;
  };
  plan.runs.forEach((step, i) => {
    const out = `${runLayerDir(i)}/disk.qcow2`;
    const request: RunStepRequest = {
      top: topDiskAfter(i), out, backing: backingPath(out, topDiskAfter(i)), argv: step.argv, env: step.env,
      ...(step.secrets.length ? { secretsDir: LAYOUT.secretsDir } : {}),
    };
    const secrets = step.secrets.map((s): ExecMount => ({ dest: `${LAYOUT.secretsDir}/${s.id}`, secret: { id: s.id, optional: !s.required } }));
    layers.push(diskStep({
      bin: LAYOUT.runStep,
      env: vmEnv,
      request,
      mounts: [{ dest: runLayerDir(i), output: true }, ...secrets],
      positions: [step.pos],
      proxy: plan.proxy,
      name: `[run ${i + 1}/${plan.runs.length}] ${progressText(step.argv)}`,
    }));
  });

  const context = appContext(plan, opts);
  const sources = plan.copySources.map((s, i) => ({ from: s.from, mount: `${NAMED_MOUNT}/${i}`, files: copySourceOutput(plan, s, opts) }));
  const rootOf = (from: string | undefined) => (from === undefined ? CONTEXT_MOUNT : sources.find((s) => s.from === from)!.mount);
  const top = topDiskAfter(plan.runs.length);
  const request: PopulateRequest = {
    context: CONTEXT_MOUNT,
    base: top,
    backing: backingPath(LAYOUT.appDisk, top),
    out: LAYOUT.appDisk,
    copies: plan.copies.map((c) => ({
      source: `${rootOf(c.from)}/${c.src}`,
      ...(c.from === undefined ? {} : { root: rootOf(c.from) }),
      dest: c.dest,
      ...(c.mode === undefined ? {} : { mode: c.mode }),
      ...(c.owner === undefined ? {} : { owner: c.owner }),
    })),
    ...(opts.sourceDateEpoch === undefined ? {} : { sourceDateEpoch: opts.sourceDateEpoch }),
  };
  const overlay = diskStep({
    bin: LAYOUT.populate,
    env: [STEP_PATH],
    request,
    mounts: [
      { dest: CONTEXT_MOUNT, from: context, readonly: true },
      ...sources.map((s): ExecMount => ({ dest: s.mount, from: s.files, readonly: true })),
      { dest: LAYOUT.appDir, output: true },
    ],
    network: "none",
    positions: plan.copies.map((c) => c.pos),
    name: `[copy] app overlay: ${plan.copies.length} copy entr${plan.copies.length === 1 ? "y" : "ies"} into the guest disk`,
  });

  let result = withBase;
  layers.forEach((layer, i) => {
    result = stack(result, { from: layer, dir: "/" }, runLayerDir(i), `[image] add run layer ${i + 1}`);
  });
  result = stack(result, { from: overlay, dir: "/" }, LAYOUT.appDir, "[image] add app overlay layer");
  if (!takesSnapshot(plan)) return result;

  const program = [...plan.app.entrypoint, ...plan.app.cmd][0];
  const snapshotRequest: SnapshotRequest = {
    backing: backingPath(LAYOUT.snapshotDisk, LAYOUT.appDisk),
    ...(program === undefined ? {} : { warm: { program, cwd: plan.app.workdir, env: plan.app.env } }),
  };
  const snapshot = diskStep({
    bin: LAYOUT.snapshot,
    env: vmEnv,
    request: snapshotRequest,
    mounts: [{ dest: LAYOUT.appDir, from: overlay, readonly: true }, { dest: LAYOUT.snapshotDir, output: true }],
    network: "none",
    name: "[snapshot] boot the guest once and save it ready for the app",
  });
  return stack(result, { from: snapshot, dir: "/" }, LAYOUT.snapshotDir, "[image] add snapshot layer");
}
