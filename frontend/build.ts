/**
 * One build, from the frontend options to a Result: read the Cxfile → parse
 * (spec) → plan → LLB → solve. Everything it asks of BuildKit goes through
 * the Gateway, so tests run it against a fake one.
 */
import { parseCxfile } from "./cxfile/parse.js";
import { CXFILE_LANGUAGE, CxfileError } from "./cxfile/errors.js";
import type { CxfileSpec } from "./cxfile/spec.js";
import { appContext, copySourceOutput, planToLLB, type ConvertOptions } from "./convert/to-llb.js";
import { copySource } from "./gateway/named-contexts.js";
import { readLocalFile } from "./gateway/local-file.js";
import { checkPublishedBase, imageBaseArch, withImageOverrides } from "./resolve-images.js";
import { checkCopySources } from "./context-check.js";
import { GatewayError, type Gateway, type Result } from "./gateway/client.js";
import { describeStepFailure } from "./step-failure.js";
import { cacheImports, dockerignorePatterns, frontendOpts, prefixedOpts, workerPlatform } from "./gateway/opts.js";
import { imageAnnotations, imageConfig } from "./image/config.js";
import { buildResult } from "./image/result.js";
import { marshal } from "./llb/graph.js";
import { planBuild, type PlanOptions } from "./plan/plan.js";
import { formatPlatform, guestPlatform, parsePlatform, platformOfNode } from "./plan/platform.js";
import { proxyEnv } from "../common/proxy.js";
import { evaluatesSolve, takesAnnotations, takesWarnings, unmetNeeds, type GatewayCaps } from "./gateway/caps.js";
import { unusedBuildArgs } from "./plan/build-args.js";
import { answer, describe, needsCxfile } from "./subrequests/serve.js";

/** A request Containerx understands but cannot serve yet. */
export class UnsupportedError extends Error {}

/** Build args nothing uses, said the way BuildKit warns (older BuildKits, without warnings, say nothing). */
async function warnUnusedArgs(gateway: Gateway, caps: GatewayCaps, spec: CxfileSpec, buildArgs: ReadonlyMap<string, string>,
  cxfile: { op: string; text: string }): Promise<void> {
  const unused = unusedBuildArgs(buildArgs, spec);
  if (unused.length === 0 || !takesWarnings(caps)) return;
  await gateway.warn(cxfile.op, `build-arg ${unused.join(", ")} ${unused.length === 1 ? "is" : "are"} not declared under args: in ${spec.file}, so nothing uses ${unused.length === 1 ? "it" : "them"}`,
    { filename: spec.file, text: cxfile.text, line: spec.args[0]?.pos.line ?? 1 });
}

/** Cxfile errors thrown by `fn` carry the Cxfile's text, for BuildKit to show their lines. */
async function withSource<T>(text: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw err instanceof CxfileError ? err.withSource(text) : err;
  }
}

/** SOURCE_DATE_EPOCH as buildx passes it, as a build argument. */
function sourceDateEpoch(value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  if (!/^\d{1,11}$/.test(value)) throw new Error(`SOURCE_DATE_EPOCH must be whole seconds since 1970, such as $(git log -1 --format=%ct); got '${value}'`);
  return Number(value);
}

/** buildx asks for a platform map (refs + refs.platforms) for several platforms, or for one with --platform and multi-platform on. */
function wantsPlatformMap(opts: ReadonlyMap<string, string>, buildArgs: ReadonlyMap<string, string>, platforms: readonly string[]): boolean {
  return platforms.length > 1 || opts.get("multi-platform") === "true" || buildArgs.get("BUILDKIT_MULTI_PLATFORM") === "1";
}

export async function build(gateway: Gateway, env: NodeJS.ProcessEnv): Promise<Result> {
  const opts = frontendOpts(env);
  const sessionId = env.BUILDKIT_SESSION_ID ?? "";
  const filename = opts.get("filename") ?? "Cxfile";
  const buildPlatform = workerPlatform(env) ?? platformOfNode(process.arch);
  const requested = (opts.get("platform") ?? "").split(",").filter(Boolean);
  const hostPlatforms = requested.length ? requested.map(parsePlatform) : [buildPlatform];
  const buildArgs = prefixedOpts(opts, "build-arg:");
  const contextName = opts.get("contextkey") ?? "context";
  const platformMap = wantsPlatformMap(opts, buildArgs, requested);

  const request = opts.get("requestid");
  if (request !== undefined && !needsCxfile(request)) return { metadata: describe() };
  const pong = await gateway.ping();
  const caps = { frontend: pong.frontendCaps, llb: pong.llbCaps };
  const cxfile = await readLocalFile(gateway, opts.get("dockerfilekey") ?? "dockerfile", sessionId, filename, `[internal] load ${filename}`);
  if (!cxfile.data) throw new CxfileError(filename, undefined, "cannot read the Cxfile", "check the -f path");
  const text = cxfile.data.toString("utf8");
  if (request !== undefined) {
    const spec = await withSource(text, async () => parseCxfile(text, filename, { buildArgs }));
    return { metadata: answer(request, spec, text, opts.get("target") || undefined) };
  }
  const ignore = (await readLocalFile(gateway, contextName, sessionId, ".dockerignore", "[internal] load .dockerignore")).data;

  const plan = await withSource(text, async () => {
    const spec = parseCxfile(text, filename, { buildArgs });
    const planOpts: PlanOptions = {
      hostPlatforms,
      buildPlatform,
      imagePrefix: buildArgs.get("CX_IMAGE_PREFIX") ?? "containerx/",
      runtimeTag: buildArgs.get("CX_RUNTIME_TAG") ?? "latest",
      ...(opts.get("target") ? { target: opts.get("target") } : {}),
      noCache: opts.has("no-cache"),
      proxy: proxyEnv(buildArgs),
    };
    await warnUnusedArgs(gateway, caps, spec, buildArgs, { op: cxfile.op, text });
    const arch = await imageBaseArch(gateway, spec, buildPlatform, opts, sessionId);
    const planned = withImageOverrides(planBuild(spec, arch === undefined ? planOpts : { ...planOpts, imageBaseArch: arch }), opts, sessionId);
    await checkPublishedBase(gateway, spec, planned, buildPlatform);
    return planned;
  });
  const imports = cacheImports(opts);
  // Evaluated here, a failing step's error comes back to be told in the Cxfile's words; older BuildKits fail it after Return.
  const evaluate = evaluatesSolve(caps);
  const unmet = unmetNeeds(caps, { platformMap, download: plan.baseDisk?.source.kind === "url", noCache: plan.noCache,
    secrets: plan.runs.some((r) => r.secrets.length > 0), cacheImports: imports.length > 0,
    proxy: Object.keys(plan.proxy).length > 0 && plan.runs.length > 0 });
  if (unmet.length) {
    throw new UnsupportedError(`this BuildKit lacks what the build needs: ${unmet.join("; ")}. ` +
      "Use a newer Docker engine (Docker 20.10 or later; 23 or later with the containerd image store for several platforms) or buildx's docker-container driver");
  }

  const epoch = sourceDateEpoch(buildArgs.get("SOURCE_DATE_EPOCH"));
  const convertOpts: ConvertOptions = {
    sessionId,
    contextName,
    excludePatterns: ignore ? dockerignorePatterns(ignore.toString("utf8")) : [],
    copySources: new Map(plan.copySources.map((s) => [s.from, copySource(opts, s.from, sessionId, guestPlatform(plan.arch))])),
    ...(epoch === undefined ? {} : { sourceDateEpoch: epoch }),
  };
  const sources = new Map<string | undefined, object>([
    [undefined, marshal(appContext(plan, convertOpts)).definition],
    ...plan.copySources.map((s) => [s.from, marshal(copySourceOutput(plan, s, convertOpts)).definition] as const),
  ]);
  await withSource(text, () => checkCopySources(gateway, plan.copies, sources, filename));
  const configOpts = {
    labels: Object.fromEntries(prefixedOpts(opts, "label:")),
    ...(epoch === undefined ? {} : { created: new Date(epoch * 1000).toISOString() }),
  };
  // One solve per host platform, side by side: their graphs share the guest
  // layers' ops, which BuildKit runs once.
  const images = await Promise.all(plan.hostPlatforms.map(async (host) => {
    const runtime = await gateway.resolveImageConfig(plan.runtimeImage, host, `[runtime] resolve ${plan.runtimeImage} for ${formatPlatform(host)}`)
      .catch((err: Error) => {
        throw new Error(`the runtime image ${plan.runtimeImage} is not available for ${formatPlatform(host)}: ${err.message} ` +
          `(build it on this machine with bootstrap/images.sh runtime/${plan.arch}, with --platforms all for every host platform, ` +
          "or take it from a mirror made with bootstrap/publish.sh: --build-arg CX_IMAGE_PREFIX=REGISTRY/PATH/)");
      });
    const definition = marshal(planToLLB(plan, convertOpts, host), { ignoreCache: plan.noCache, source: { filename, text, language: CXFILE_LANGUAGE } }).definition;
    const ref = await gateway.solve(definition, { cacheImports: imports, evaluate }).catch((err: unknown) => {
      throw err instanceof GatewayError ? describeStepFailure(err.message, err.details, plan, filename) ?? err : err;
    });
    const config = imageConfig(plan, host, JSON.parse(runtime.config.toString("utf8") || "{}"), configOpts);
    return { host, ref, config: Buffer.from(JSON.stringify(config)) };
  }));
  return buildResult(images, takesAnnotations(caps) ? imageAnnotations(plan, configOpts) : {}, platformMap);
}
