/**
 * What the BuildKit behind the gateway can do, from its Ping answer, checked
 * before anything is solved: an older BuildKit (Docker 20.10 has v0.8) then
 * fails with the feature it lacks, not with an obscure error halfway
 * through a build.
 */
import type { ApiCap } from "./client.js";

/**
 * What this frontend serves beyond a build, as the image label
 * moby.buildkit.frontend.caps must claim it (the Dockerfile's frontend stage, checked by
 * a unit test): BuildKit refuses a client's request for a cap the label
 * lacks, and a claimed cap must not be ignored.
 */
export const SERVED_FRONTEND_CAPS = [
  "moby.buildkit.frontend.subrequests", // subrequests/serve.ts
  "moby.buildkit.frontend.contexts", // gateway/named-contexts.ts
] as const;

/** A cap Containerx relies on, and what it is needed for, in words a user can act on. */
interface Need {
  readonly cap: string;
  readonly for: string;
}

/** Frontend API caps every build uses. */
const FRONTEND_BASE: readonly Need[] = [
  { cap: "solve.base", for: "solving LLB" },
  { cap: "resolveimage", for: "resolving the runtime and base images" },
  { cap: "readfile", for: "reading the Cxfile" },
  { cap: "return", for: "returning the image" },
  { cap: "proto.refarray", for: "the result format" },
];

/** LLB caps of the ops every build emits (frontend/llb/ops.ts). */
const LLB_BASE: readonly Need[] = [
  { cap: "source.image", for: "image sources" },
  { cap: "source.local", for: "the build context" },
  { cap: "source.local.includepatterns", for: "sending only the context files the Cxfile copies" },
  { cap: "source.local.excludepatterns", for: ".dockerignore" },
  { cap: "source.local.sharedkeyhint", for: "the build context" },
  { cap: "exec.meta.base", for: "build steps" },
  { cap: "exec.meta.network", for: "build steps without network" },
  { cap: "exec.mount.bind", for: "build steps' mounts" },
  { cap: "exec.mount.selector", for: "mounting a directory of a step's result" },
  { cap: "platform", for: "choosing the runtime for a host platform" },
  { cap: "meta.description", for: "progress names" },
];

/** What a particular build asks for beyond the base. */
export interface BuildFeatures {
  /** More than one platform, or buildx's multi-platform result for one. */
  readonly platformMap: boolean;
  /** A base disk downloaded by URL. */
  readonly download: boolean;
  /** --no-cache. */
  readonly noCache: boolean;
  /** A run step reads a build secret. */
  readonly secrets: boolean;
  /** --cache-from was given. */
  readonly cacheImports: boolean;
  /** A proxy build arg reaches the run steps. */
  readonly proxy: boolean;
}

export interface GatewayCaps {
  readonly frontend: readonly ApiCap[];
  readonly llb: readonly ApiCap[];
}

const enabled = (caps: readonly ApiCap[], id: string) => caps.some((c) => c.ID === id && c.Enabled);

/** The needs of this build that the gateway's BuildKit does not meet. */
export function unmetNeeds(caps: GatewayCaps, features: BuildFeatures): string[] {
  const frontend = [
    ...FRONTEND_BASE,
    ...(features.platformMap ? [{ cap: "returnmap", for: "a multi-platform result (--platform a,b)" }] : []),
    ...(features.cacheImports ? [{ cap: "importcaches", for: "--cache-from" }] : []),
  ];
  const llb = [
    ...LLB_BASE,
    ...(features.download ? [{ cap: "source.http.checksum", for: "downloading a base disk by URL with its sha256" }] : []),
    ...(features.noCache ? [{ cap: "meta.ignorecache", for: "--no-cache" }] : []),
    ...(features.secrets ? [{ cap: "exec.mount.secret", for: "build secrets (run: secrets)" }] : []),
    ...(features.proxy ? [{ cap: "exec.meta.proxyenv", for: "the proxy build args (HTTP_PROXY …)" }] : []),
  ];
  return [
    ...frontend.filter((n) => !enabled(caps.frontend, n.cap)),
    ...llb.filter((n) => !enabled(caps.llb, n.cap)),
  ].map((n) => `${n.cap} (${n.for})`);
}

/** Whether the gateway takes warnings for the build's output (BuildKit 0.10 and later). */
export const takesWarnings = (caps: GatewayCaps) => enabled(caps.frontend, "gateway.warnings");

/** Whether Solve can run the graph before it answers (BuildKit 0.11 and later). */
export const evaluatesSolve = (caps: GatewayCaps) => enabled(caps.frontend, "gateway.solve.evaluate");

/** Whether the exporter takes manifest annotations (BuildKit 0.11 and later): older ones get none rather than an error. */
export const takesAnnotations = (caps: GatewayCaps) => enabled(caps.llb, "exporter.image.annotations");
