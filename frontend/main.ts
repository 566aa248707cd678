/**
 * The Containerx BuildKit frontend. BuildKit runs this image for a Cxfile whose
 * first line is `# syntax=containerx/frontend` and talks gRPC to it over
 * stdin/stdout. Stages: read Cxfile → parse (spec) → plan → LLB → solve →
 * Return the ref and the image config. Errors go back through Return.
 */
import { format } from "node:util";
import { parseCxfile } from "./cxfile/parse.js";
import { CxfileError } from "./cxfile/errors.js";
import { planToLLB } from "./convert/to-llb.js";
import { GrpcGateway, RpcCode, type Gateway, type Result } from "./gateway/client.js";
import { frontendOpts, workerPlatform } from "./gateway/opts.js";
import { relayStdio } from "./gateway/stdio-relay.js";
import { imageConfig } from "./image/config.js";
import { marshal } from "./llb/graph.js";
import { local } from "./llb/ops.js";
import { planBuild } from "./plan/plan.js";
import { parsePlatform, platformOfNode } from "./plan/platform.js";

// stdout carries gRPC frames: nothing else may ever be written there.
console.log = console.info = console.debug = (...args: unknown[]) => process.stderr.write(format(...args) + "\n");

class UnsupportedError extends Error {}

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

async function main(): Promise<void> {
  const gateway = new GrpcGateway(await relayStdio(process.stdin, process.stdout));
  try {
    const result = await build(gateway, process.env);
    await gateway.returnResult(result);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const code = err instanceof CxfileError ? RpcCode.INVALID_ARGUMENT : err instanceof UnsupportedError ? RpcCode.UNIMPLEMENTED : RpcCode.UNKNOWN;
    process.stderr.write(`containerx frontend: ${message}\n`);
    await gateway.returnError(code, message);
  } finally {
    gateway.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`containerx frontend: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
