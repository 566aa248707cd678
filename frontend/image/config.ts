import { SETTINGS } from "../../common/settings.js";
import { guestEnv, portsEnv, type GuestShape } from "../../common/guest-env.js";
import { LAYOUT } from "../../common/layout.js";
import { displayPorts } from "../../common/display.js";
import { takesSnapshot, type BuildPlan } from "../plan/plan.js";
import type { Platform } from "../plan/platform.js";

/** The parts of an OCI image config Containerx reads from the runtime image. */
export interface BaseImageConfig {
  readonly history?: readonly Record<string, unknown>[];
}

export const CONTAINERX_VERSION = "0.1.0";

export interface ConfigOptions {
  /** --label values, applied last like Dockerfile builds do. */
  readonly labels?: Readonly<Record<string, string>>;
  /** SOURCE_DATE_EPOCH: the `created` times, so digests do not depend on when a build ran. */
  readonly created?: string;
}

const SECOND_NS = 1_000_000_000;

/**
 * Without a Cxfile healthcheck the container is healthy once the guest agent
 * runs the app. Checks come every second while the guest boots (Docker 25+
 * honours StartInterval), then every 30 s as Docker's default.
 */
const DEFAULT_HEALTHCHECK = {
  Test: ["CMD", LAYOUT.exec, "--status"],
  Interval: 30 * SECOND_NS,
  Timeout: 10 * SECOND_NS,
  StartPeriod: 300 * SECOND_NS,
  StartInterval: SECOND_NS,
  Retries: 3,
};

/** Docker's healthcheck shape; durations in nanoseconds. */
function healthcheck(plan: BuildPlan): Record<string, unknown> {
  const h = plan.app.healthcheck;
  if (!h) return DEFAULT_HEALTHCHECK;
  return {
    // The check runs in the guest through the agent, not in the container.
    Test: ["CMD", LAYOUT.exec, ...h.test],
    ...(h.intervalNs === undefined ? {} : { Interval: h.intervalNs }),
    ...(h.timeoutNs === undefined ? {} : { Timeout: h.timeoutNs }),
    ...(h.startPeriodNs === undefined ? {} : { StartPeriod: h.startPeriodNs }),
    ...(h.retries === undefined ? {} : { Retries: h.retries }),
  };
}

/** What Containerx says about every image it builds, as labels and as manifest annotations. */
function containerxLabels(plan: BuildPlan): Record<string, string> {
  return {
    "org.containerx.guest.arch": plan.arch,
    "org.containerx.base": plan.baseName,
    "org.containerx.version": CONTAINERX_VERSION,
    ...(plan.target ? { "org.containerx.target": plan.target } : {}),
  };
}

/**
 * OCI annotations of the image manifest, for registries and tools that read
 * manifests rather than configs. The result metadata key `annotation.<key>`
 * is how a frontend asks BuildKit's image exporters to set them; Docker's
 * classic image store keeps no manifest, so there they reach only a push or
 * an OCI export.
 */
export function imageAnnotations(plan: BuildPlan, opts: ConfigOptions = {}): Record<string, string> {
  return {
    ...containerxLabels(plan),
    "org.opencontainers.image.base.name": plan.runtimeImage,
    ...(opts.created ? { "org.opencontainers.image.created": opts.created } : {}),
  };
}

function baseOrigin(plan: BuildPlan): string {
  if (!plan.baseDisk) return plan.baseImage!;
  if (plan.agent) return `kernel and agent from ${plan.baseImage}`;
  return `boots with ${plan.baseDisk.boot.kind}, no Containerx agent`;
}

/** Container ports the runtime listens on (the gdb stub, TCP serial ports, the screen): exposed beside the app's, so `docker run -P` publishes them. */
const runtimeListens = (guest: GuestShape): number[] => [...(guest.gdbPort === undefined ? [] : [guest.gdbPort]),
  ...guest.serial.flatMap((s) => (s.kind === "tcp" ? [s.port] : [])), ...displayPorts(guest.display)];

/**
 * The app image's OCI config. The container's entrypoint is always the
 * launcher; the app's own entrypoint travels in CX_ENTRYPOINT so that
 * `docker run IMAGE args…` replaces the app's cmd the way users expect. The
 * guest's user and the VM shape travel as CX_* variables for the same reason:
 * `docker run -e` overrides them. `p` is the host platform this config is for.
 */
export function imageConfig(plan: BuildPlan, p: Platform, runtime: BaseImageConfig, opts: ConfigOptions = {}): Record<string, unknown> {
  const app = plan.app;
  const ports = Object.fromEntries([...app.expose.map((e) => `${e.port}/${e.protocol}`), ...runtimeListens(plan.guest).map((p) => `${p}/tcp`)].map((p) => [p, {}]));
  const volumes = Object.fromEntries(app.volumes.map((v) => [v, {}]));
  // Without the agent nothing in the guest can be checked.
  const check = plan.agent ? { Healthcheck: healthcheck(plan) } : {};
  const created = opts.created ? { created: opts.created } : {};
  const history = (createdBy: string, comment: string) => ({ ...created, created_by: createdBy, comment });
  return {
    ...created,
    architecture: p.architecture,
    os: p.os,
    ...(p.variant ? { variant: p.variant } : {}),
    config: {
      Entrypoint: [LAYOUT.launcher],
      Cmd: [...app.cmd],
      Env: [
        ...app.env,
        `${SETTINGS.entrypoint.name}=${JSON.stringify(app.entrypoint)}`,
        ...(app.user === undefined ? [] : [`${SETTINGS.user.name}=${app.user}`]),
        ...guestEnv(plan.guest),
        ...(app.expose.length ? [portsEnv(app.expose)] : []),
      ],
      WorkingDir: app.workdir,
      ...(Object.keys(ports).length ? { ExposedPorts: ports } : {}),
      ...(app.volumes.length ? { Volumes: volumes } : {}),
      ...check,
      ...(app.stopSignal ? { StopSignal: app.stopSignal } : {}),
      ...(app.stopTimeoutSeconds === undefined ? {} : { StopTimeout: app.stopTimeoutSeconds }),
      Labels: {
        ...app.labels,
        ...containerxLabels(plan),
        ...opts.labels,
      },
    },
    rootfs: { type: "layers", diff_ids: [] },
    history: [
      ...(runtime.history ?? []),
      history(`containerx: OS base ${plan.baseName} (${baseOrigin(plan)})`, "containerx.base"),
      ...plan.runs.map((r, i) => history(`containerx: run ${i + 1}: ${r.argv.join(" ")}`, "containerx.run")),
      ...(plan.agent ? [history(`containerx: app overlay, ${plan.copies.length} copy entries`, "containerx.overlay")] : []),
      ...(takesSnapshot(plan) ? [history("containerx: snapshot of the guest booted at build time, ready for the app", "containerx.snapshot")] : []),
    ],
  };
}
