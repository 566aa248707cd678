/**
 * The Containerx BuildKit frontend. BuildKit runs this image for a Cxfile whose
 * first line is `# syntax=containerx/frontend` and talks gRPC to it over
 * stdin/stdout. It runs one build and hands BuildKit the result, or the
 * error, through Return.
 */
import { format } from "node:util";
import { build, UnsupportedError } from "./build.js";
import { errorSourceDetail } from "./cxfile/error-source.js";
import { CxfileError } from "./cxfile/errors.js";
import { GatewayError, GrpcGateway, RpcCode } from "./gateway/client.js";
import { StepFailure } from "./step-failure.js";
import { relayStdio } from "./gateway/stdio-relay.js";
import { subrequestDetail, UnsupportedSubrequestError } from "./subrequests/serve.js";

// stdout carries gRPC frames: nothing else may ever be written there.
console.log = console.info = console.debug = (...args: unknown[]) => process.stderr.write(format(...args) + "\n");

async function main(): Promise<void> {
  const relay = await relayStdio(process.stdin, process.stdout);
  const gateway = new GrpcGateway(relay.target);
  try {
    const result = await build(gateway, process.env);
    await gateway.returnResult(result);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // Cxfile errors go back as UNKNOWN: BuildKit prefixes any other code's name
    // to the message once per layer it crosses ("InvalidArgument: InvalidArgument: …").
    const code = err instanceof UnsupportedError || err instanceof UnsupportedSubrequestError ? RpcCode.UNIMPLEMENTED : RpcCode.UNKNOWN;
    const details = err instanceof CxfileError ? [errorSourceDetail(err)]
      : err instanceof UnsupportedSubrequestError ? [subrequestDetail(err.request)]
      : err instanceof StepFailure || err instanceof GatewayError ? err.details : [];
    process.stderr.write(`containerx frontend: ${message}\n`);
    await gateway.returnError(code, message, details.filter((d) => d !== undefined));
  } finally {
    gateway.close();
    relay.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`containerx frontend: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
