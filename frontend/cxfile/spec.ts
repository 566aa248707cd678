import { EMPTY_GUEST_SHAPE, GUEST_SETTINGS, type GuestShape } from "../../common/guest-env.js";
import type { Port } from "../../common/guest-env.js";
import type { Pos } from "./errors.js";

/**
 * A Cxfile, checked for shape: every value has the type the language says,
 * `${ARG}` references are substituted, and positions are kept where a later
 * stage (the planner) may still have to point at the Cxfile.
 */
export interface CxfileSpec {
  readonly file: string;
  readonly args: readonly ArgSpec[];
  readonly base: BaseSpec;
  readonly guest: GuestSpec;
  /** The top level: what every target starts from. */
  readonly stage: StageSpec;
  readonly targets: readonly TargetSpec[];
}

export interface ArgSpec {
  readonly name: string;
  /** The value after --build-arg; the default when none was given. */
  readonly value: string;
  readonly pos: Pos;
}

export type BaseSpec =
  /** A base the project publishes, such as minimal/aarch64. */
  | { readonly kind: "named"; readonly flavour: string; readonly arch: string; readonly pos: Pos }
  /** Any image laid out as a guest base (/cx/base/…). */
  | { readonly kind: "image"; readonly ref: string; readonly pos: Pos }
  /** A disk image of the user's: ext4 booted with the kernel and agent of minimal/<arch>, or an OS that boots itself. */
  | DiskBaseSpec;

/**
 * How a disk base boots. `agent`: an ext4 disk, with the minimal base's
 * kernel and the Containerx agent. The others boot the user's OS its own way,
 * without the agent: its kernel (and initrd), UEFI, or a firmware image.
 * Files are build-context paths.
 */
export type DiskBootSpec =
  | { readonly kind: "agent" }
  | { readonly kind: "kernel"; readonly kernel: string; readonly initrd?: string }
  | { readonly kind: "uefi" }
  | { readonly kind: "firmware"; readonly firmware: string };

export type DiskFormat = "qcow2" | "raw";

export interface DiskBaseSpec {
  readonly kind: "disk";
  readonly source: { readonly kind: "context"; readonly path: string } | { readonly kind: "url"; readonly url: string };
  /** Required for a URL (BuildKit checks it while downloading); checked at import for a context file. */
  readonly sha256?: string;
  readonly arch: string;
  /** Detected by qemu-img when absent. */
  readonly format?: DiskFormat;
  readonly boot: DiskBootSpec;
  readonly pos: Pos;
}

/** Overrides of the guest-arch table's machine for this app; absent = the table's or the runtime's default. */
export interface GuestSpec extends GuestShape {
  /** Boot the finished guest at build time and ship it saved, for `docker run` to resume (true unless `snapshot: false`). */
  readonly snapshot: boolean;
}

export const NO_GUEST_SPEC: GuestSpec = { ...EMPTY_GUEST_SHAPE, snapshot: true };

export interface CopySpec {
  /**
   * Where src is: a named build context (--build-context NAME=…) or, when
   * none has that name, an image, as Dockerfile's COPY --from; the build
   * context when absent.
   */
  readonly from?: string;
  /** Path in that source (leading "/" dropped); may hold glob characters (*, ?, [..]). */
  readonly src: string;
  /** Absolute guest path; a trailing "/" means "into this directory". */
  readonly dest: string;
  readonly mode?: number;
  readonly owner?: { readonly uid: number; readonly gid: number };
  readonly pos: Pos;
}

/** A build secret (`--secret id=…`) a run step reads at /run/secrets/<id>. */
export interface SecretUse {
  readonly id: string;
  /** A required secret missing from the build fails the step; an optional one is just absent. */
  readonly required: boolean;
}

export interface RunSpec {
  /** What the guest runs: argv (a string command becomes /bin/sh -c). */
  readonly argv: readonly string[];
  readonly secrets: readonly SecretUse[];
  readonly pos: Pos;
}

export type PortSpec = Port;

export interface HealthcheckSpec {
  /** The check run in the guest; empty = the runtime's own "agent is up" check. */
  readonly test: readonly string[];
  readonly intervalNs?: number;
  readonly timeoutNs?: number;
  readonly startPeriodNs?: number;
  readonly retries?: number;
}

/** What goes into the image config. Absent fields are inherited from the top level. */
export interface AppConfigSpec {
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly workdir?: string;
  readonly user?: string;
  readonly expose: readonly PortSpec[];
  readonly volumes: readonly string[];
  readonly healthcheck?: HealthcheckSpec;
  readonly labels: Readonly<Record<string, string>>;
  readonly stopSignal?: string;
  readonly stopTimeoutSeconds?: number;
}

/** Steps and config of the top level or of one target. */
export interface StageSpec {
  readonly run: readonly RunSpec[];
  readonly copy: readonly CopySpec[];
  readonly config: AppConfigSpec;
}

export interface TargetSpec extends StageSpec {
  readonly name: string;
  readonly pos: Pos;
}

export const APP_KEYS = [
  "copy", "run", "env", "workdir", "user", "entrypoint", "cmd", "expose", "volumes",
  "healthcheck", "labels", "stop_signal", "stop_timeout",
] as const;
export const TOP_LEVEL_KEYS = ["args", "base", "guest", ...APP_KEYS, "targets"] as const;
export const BASE_KEYS = ["image", "disk", "sha256", "arch", "format", "boot", "kernel", "initrd", "firmware"] as const;
/** What only the Containerx agent in the guest can do: not available with a base that boots without it. */
export const AGENT_KEYS = ["copy", "run", "env", "workdir", "user", "entrypoint", "cmd", "volumes", "healthcheck", "stop_signal"] as const;
export const GUEST_KEYS = [...Object.values(GUEST_SETTINGS).map((s) => s.cxfile), "snapshot"] as const;
export const RUN_KEYS = ["command", "secrets"] as const;
export const SECRET_KEYS = ["id", "required"] as const;
export const COPY_KEYS = ["from", "src", "dest", "mode", "owner"] as const;
export const HEALTHCHECK_KEYS = ["test", "interval", "timeout", "start_period", "retries"] as const;
