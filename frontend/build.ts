/**
 * One build, from the frontend options to a Result: read the Cxfile → parse
 * (spec) → plan → LLB → solve. Everything it asks of BuildKit goes through
 * the Gateway, so tests run it against a fake one.
 */
import { parseCxfile } from "./cxfile/parse.js";
import { planToLLB } from "./convert/to-llb.js";
import type { Gateway, Result } from "./gateway/client.js";
import { frontendOpts, workerPlatform } from "./gateway/opts.js";
import { imageConfig } from "./image/config.js";
import { marshal } from "./llb/graph.js";
import { local } from "./llb/ops.js";
import { planBuild } from "./plan/plan.js";
import { parsePlatform, platformOfNode } from "./plan/platform.js";

/** A request Containerx understands but cannot serve yet. */
export class UnsupportedError extends Error {}

export async function build(gateway: Gateway, env: NodeJS.ProcessEnv): Promise<Result> {
  const opts = frontendOpts(env);
  const sessionId = env.BUILDKIT_SESSION_ID ?? "";
  const filename = opts.get("filename") ?? "Cxfile";
  const platforms = (opts.get("platform") ?? "").split(",").filter(Boolean);
  if (platforms.length > 1) throw new UnsupportedError(`building for several platforms (${platforms.join(", ")}) is not supported yet`);
  const hostPlatform = platforms[0] ? parsePlatform(platforms[0]) : workerPlatform(env) ?? platformOfNode(process.arch);

  const cxfileSource = local(opts.get("dockerfilekey") ?? "dockerfile", { sessionId, includePatterns: [filename], sharedKeyHint: filename },
    `[internal] load ${filename}`);
  const cxfileRef = await gateway.solve(marshal(cxfileSource).definition);
  const text = (await gateway.readFile(cxfileRef, filename)).toString("utf8");

  const spec = parseCxfile(text, filename);
  const plan = planBuild(spec, {
    hostPlatform,
    imagePrefix: opts.get("build-arg:CX_IMAGE_PREFIX") ?? "containerx/",
    runtimeTag: opts.get("build-arg:CX_RUNTIME_TAG") ?? "latest",
  });
  const runtime = await gateway.resolveImageConfig(plan.runtimeImage, hostPlatform, `[runtime] resolve ${plan.runtimeImage}`);
  const ref = await gateway.solve(marshal(planToLLB(plan, { sessionId, contextName: opts.get("contextkey") ?? "context" })).definition);
  const config = imageConfig(plan, JSON.parse(runtime.config.toString("utf8") || "{}"));
  return { ref, metadata: { "containerimage.config": Buffer.from(JSON.stringify(config)) } };
}

