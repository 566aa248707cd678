import type { ProxyEnv } from "../../common/proxy.js";
import type { Pos } from "../cxfile/errors.js";
import { llbEnums } from "../protos.js";
import type { Platform } from "../plan/platform.js";
import { sortedMap, type Output, type Vertex } from "./graph.js";

/** BuildKit's "no input"/"no output" index for mounts and file actions. */
const NONE = -1;

/** Secrets as Dockerfile's RUN --mount=type=secret has them: root's, read-only to root. */
const SECRET_MODE = 0o400;

export function image(ref: string, platform: Platform, name: string, positions?: readonly Pos[]): Output {
  const vertex: Vertex = { body: { source: { identifier: `docker-image://${ref}`, attrs: {} } }, inputs: [], platform, name, ...(positions ? { positions } : {}) };
  return { vertex, index: 0 };
}

/** A file downloaded by BuildKit, which refuses it unless its sha256 matches when one is given. */
export function http(url: string, sha256: string | undefined, filename: string, name: string): Output {
  const attrs = sortedMap({ ...(sha256 ? { "http.checksum": `sha256:${sha256}` } : {}), "http.filename": filename });
  const vertex: Vertex = { body: { source: { identifier: url, attrs } }, inputs: [], name };
  return { vertex, index: 0 };
}

export interface LocalOptions {
  readonly sessionId: string;
  readonly includePatterns?: readonly string[];
  /** .dockerignore patterns: never transferred. */
  readonly excludePatterns?: readonly string[];
  readonly sharedKeyHint?: string;
}

/** Files from the client: the build context or the Cxfile's directory. */
export function local(name: string, opts: LocalOptions, displayName: string): Output {
  const attrs: Record<string, string> = { "local.session": opts.sessionId };
  if (opts.includePatterns) attrs["local.includepattern"] = JSON.stringify(opts.includePatterns);
  if (opts.excludePatterns?.length) attrs["local.excludepatterns"] = JSON.stringify(opts.excludePatterns);
  if (opts.sharedKeyHint) attrs["local.sharedkeyhint"] = opts.sharedKeyHint;
  const vertex: Vertex = { body: { source: { identifier: `local://${name}`, attrs: sortedMap(attrs) } }, inputs: [], name: displayName };
  return { vertex, index: 0 };
}

export interface ExecMount {
  readonly dest: string;
  /** Absent: an empty directory. */
  readonly from?: Output;
  readonly selector?: string;
  readonly readonly?: boolean;
  /** Whether this mount's final content is an output of the step. */
  readonly output?: boolean;
  /** A build secret at `dest` instead of a filesystem; an optional one missing from the build is left out. */
  readonly secret?: { readonly id: string; readonly optional: boolean };
}

export interface ExecOptions {
  readonly root: Output;
  readonly args: readonly string[];
  readonly env: readonly string[];
  readonly cwd?: string;
  readonly mounts: readonly ExecMount[];
  readonly platform: Platform;
  readonly network?: "none" | "sandbox";
  readonly name: string;
  /** Where in the source the step comes from (graph.ts Vertex.positions). */
  readonly positions?: readonly Pos[];
  /** Proxy settings BuildKit puts in the step's environment, outside its cache key. */
  readonly proxy?: ProxyEnv;
}

/** Runs a command; returns one Output per mount that asked for one, in order. */
export function exec(opts: ExecOptions): Output[] {
  const inputs: Output[] = [];
  const inputIndex = (o: Output) => {
    const i = inputs.findIndex((x) => x.vertex === o.vertex && x.index === o.index);
    return i >= 0 ? i : inputs.push(o) - 1;
  };
  let outputs = 0;
  // Steps write only to their mounts. A read-only root with no output gets a
  // fresh snapshot from BuildKit, where runc creates the mount points before
  // sealing it; a writable root with no output is the image's own snapshot,
  // which is sometimes mounted read-only and then mount points fail
  // ("mkdir …/rootfs/cx/app: read-only file system").
  const all: ExecMount[] = [{ dest: "/", from: opts.root, readonly: true }, ...opts.mounts];
  const mounts = all.map((m) => m.secret ? {
    input: NONE,
    dest: m.dest,
    output: NONE,
    // A file BuildKit fills from the client's --secret, never part of a layer or the cache key.
    mountType: llbEnums.MountType.SECRET,
    secretOpt: { ID: m.secret.id, uid: 0, gid: 0, mode: SECRET_MODE, optional: m.secret.optional },
  } : {
    input: m.from ? inputIndex(m.from) : NONE,
    ...(m.selector ? { selector: m.selector } : {}),
    dest: m.dest,
    output: m.output ? outputs++ : NONE,
    ...(m.readonly ? { readonly: true } : {}),
  });
  const body = {
    exec: {
      meta: {
        args: [...opts.args], env: [...opts.env], cwd: opts.cwd ?? "/",
        ...(opts.proxy && Object.keys(opts.proxy).length ? { proxy_env: opts.proxy } : {}),
      },
      mounts,
      // Build steps that need no network get none.
      ...(opts.network === "none" ? { network: llbEnums.NetMode.NONE } : {}),
    },
  };
  const vertex: Vertex = { body, inputs, platform: opts.platform, name: opts.name, ...(opts.positions ? { positions: opts.positions } : {}) };
  return Array.from({ length: outputs }, (_, index) => ({ vertex, index }));
}
