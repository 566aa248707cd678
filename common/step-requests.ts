/**
 * The JSON requests the frontend hands its build steps in $CX_STEP_REQUEST.
 * Both sides compile against these types, so the LLB the frontend writes and
 * the step that reads it cannot drift apart.
 */
import { RUNTIME_FAILURE } from "./exit-codes.js";
import { STEP_REQUEST_ENV } from "./layout.js";

export interface Owner {
  readonly uid: number;
  readonly gid: number;
}

export interface PopulateCopy {
  /** Path of the source inside this build step (a context mount). */
  readonly source: string;
  /** The mount `source` is in, when not the build context (`copy: { from }`): globs and messages are relative to it. */
  readonly root?: string;
  /** Absolute guest path; a trailing "/" means "into this directory". */
  readonly dest: string;
  /** Permission bits for copied files; the source's when absent. */
  readonly mode?: number;
  /** Owner of what is copied; root when absent. */
  readonly owner?: Owner;
}

/** cx-populate: the app overlay. */
export interface PopulateRequest {
  /** Where the build context is mounted; copy sources are inside it. */
  readonly context: string;
  readonly base: string;
  readonly backing: string;
  readonly out: string;
  readonly copies: readonly PopulateCopy[];
  /** SOURCE_DATE_EPOCH: every time stamp the step writes into the guest filesystem; absent, the time of the build. */
  readonly sourceDateEpoch?: number;
}

/** cx-run-step: one `run:` entry. */
export interface RunStepRequest {
  /** The disk this layer stacks on. */
  readonly top: string;
  /** The new layer's qcow2, and its backing path (relative to its directory). */
  readonly out: string;
  readonly backing: string;
  readonly argv: readonly string[];
  readonly env: readonly string[];
  /** Where the step's build secrets are mounted, one file per id, when it reads any. */
  readonly secretsDir?: string;
}

/** cx-snapshot: the guest booted once and saved, ready for the app. */
export interface SnapshotRequest {
  /** The backing path of the snapshot's disk (relative to its directory): the image's top disk. */
  readonly backing: string;
  /** The app's program as the image config starts it, read in the guest before the save (runtime/snapshot/warm.ts). */
  readonly warm?: WarmRequest;
}

/** A program name or path as the app's command gives it, with the app's working directory and environment to find it by. */
export interface WarmRequest {
  readonly program: string;
  readonly cwd: string;
  readonly env: readonly string[];
}

/** How an imported disk boots: with the kernel and agent of the base at `kernelBase`, or its own way from these files. */
export type ImportBoot =
  | { readonly kind: "agent"; readonly kernelBase: string }
  | { readonly kind: "kernel"; readonly kernel: string; readonly initrd?: string }
  | { readonly kind: "uefi" }
  | { readonly kind: "firmware"; readonly firmware: string };

/** cx-import-base: a user's disk made into an OS base. */
export interface ImportBaseRequest {
  /** The disk file as mounted in the step. */
  readonly disk: string;
  readonly format?: "qcow2" | "raw";
  /** Checked here for a context file; BuildKit already checked a download. */
  readonly sha256?: string;
  readonly arch: string;
  readonly boot: ImportBoot;
  /** Where the new base (disk.qcow2, boot files, base.json) is written. */
  readonly out: string;
  /** SOURCE_DATE_EPOCH: the time e2fsck writes into the disk it checks; absent, the time of the build. */
  readonly sourceDateEpoch?: number;
}

/** This build step's request; the caller names the type it was written as. */
function readStepRequest<T>(env: NodeJS.ProcessEnv = process.env): T {
  const text = env[STEP_REQUEST_ENV];
  if (!text) throw new Error(`${STEP_REQUEST_ENV} holds no request`);
  return JSON.parse(text) as T;
}

/**
 * A build step's entrypoint: runs `step` on this step's request and exits
 * with its code (0 when it returns none); a failure is one line naming the
 * step on stderr, and exit code 1, which BuildKit reports with that line.
 */
export function runStepMain<T>(name: string, step: (request: T) => Promise<number | void>): void {
  Promise.resolve()
    .then(() => step(readStepRequest<T>()))
    .then(
      (code) => {
        process.exitCode = code ?? 0;
      },
      (err: unknown) => {
        process.stderr.write(`${name}: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(RUNTIME_FAILURE);
      },
    );
}
