import * as grpc from "@grpc/grpc-js";
import type protobuf from "protobufjs";
import { CXFILE_LANGUAGE } from "../cxfile/errors.js";
import { gw, protos } from "../protos.js";
import type { Platform } from "../plan/platform.js";
import { sortedMap } from "../llb/graph.js";
import type { CacheImport } from "./opts.js";

const SERVICE = "/moby.buildkit.v1.frontend.LLBBridge";

/** google.rpc.Status codes the frontend reports with. */
export const RpcCode = { UNKNOWN: 2, UNIMPLEMENTED: 12 } as const;

/**
 * One image (`ref`), or one per platform (`refs`, keyed as metadata's
 * refs.platforms names them), or metadata alone (a subrequest's answer).
 */
export type Result =
  | { readonly ref: string; readonly metadata: Record<string, Buffer> }
  | { readonly refs: Readonly<Record<string, string>>; readonly metadata: Record<string, Buffer> }
  | { readonly metadata: Record<string, Buffer> };

/** A google.protobuf.Any attached to a returned error. */
export interface ErrorDetail {
  readonly typeUrl: string;
  readonly value: Uint8Array;
}

/** A failed call, with the details BuildKit attached (errdefs.Source of a failing op, among others). */
export class GatewayError extends Error {
  constructor(message: string, readonly details: readonly ErrorDetail[]) {
    super(message);
    this.name = "GatewayError";
  }
}

/** The google.rpc.Status details grpc-go sends in the grpc-status-details-bin trailer. */
function statusDetails(error: grpc.ServiceError): ErrorDetail[] {
  const [bin] = error.metadata?.get("grpc-status-details-bin") ?? [];
  if (!Buffer.isBuffer(bin)) return [];
  const status = protos.lookupType("google.rpc.Status");
  const decoded = status.toObject(status.decode(bin), { bytes: Buffer }) as { details?: { type_url: string; value: Buffer }[] };
  return (decoded.details ?? []).map((d) => ({ typeUrl: d.type_url, value: d.value }));
}

export interface ApiCap {
  readonly ID: string;
  readonly Enabled?: boolean;
}

/** The calls Containerx makes to BuildKit's LLBBridge. */
export interface Gateway {
  ping(): Promise<{ frontendCaps: ApiCap[]; llbCaps: ApiCap[] }>;
  solve(definition: object, opts?: SolveOptions): Promise<string>;
  readFile(ref: string, path: string): Promise<Buffer>;
  /** A warning for the build's output, on the progress of the op `digest`, pointing at `line` of the source file. */
  warn(digest: string, text: string, source: { filename: string; text: string; line: number }): Promise<void>;
  /** The names in a directory of a solved result. */
  readDir(ref: string, path: string): Promise<string[]>;
  resolveImageConfig(ref: string, platform: Platform, logName: string): Promise<{ digest: string; config: Buffer }>;
  returnResult(result: Result): Promise<void>;
  returnError(code: number, message: string, details?: readonly ErrorDetail[]): Promise<void>;
  close(): void;
}

export interface SolveOptions {
  /** --cache-from sources to look for this definition's results in. */
  readonly cacheImports?: readonly CacheImport[];
  /** Run the solve before answering, so a failing op fails this call (cap gateway.solve.evaluate). */
  readonly evaluate?: boolean;
}

export class GrpcGateway implements Gateway {
  private readonly client: grpc.Client;

  constructor(target: string) {
    this.client = new grpc.Client(target, grpc.credentials.createInsecure(), {
      "grpc.max_receive_message_length": -1,
      "grpc.max_send_message_length": -1,
      // The relay accepts one connection: never let the channel go idle and redial.
      "grpc.client_idle_timeout_ms": 2 ** 31 - 1,
    });
  }

  private call(method: string, reqType: string, resType: string, request: object): Promise<Record<string, unknown>> {
    const req: protobuf.Type = gw(reqType);
    const res: protobuf.Type = gw(resType);
    const err = req.verify(request);
    if (err) return Promise.reject(new Error(`bad ${reqType}: ${err}`));
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        `${SERVICE}/${method}`,
        (msg: object) => Buffer.from(req.encode(req.fromObject(msg)).finish()),
        (buf: Buffer) => res.toObject(res.decode(buf), { longs: Number, bytes: Buffer, defaults: false }),
        request,
        (error, value) => (error ? reject(new GatewayError(`${method}: ${error.details || error.message}`, statusDetails(error)))
          : resolve(value as Record<string, unknown>)),
      );
    });
  }

  async ping() {
    const pong = await this.call("Ping", "PingRequest", "PongResponse", {});
    return { frontendCaps: (pong.FrontendAPICaps ?? []) as ApiCap[], llbCaps: (pong.LLBCaps ?? []) as ApiCap[] };
  }

  async solve(definition: object, opts: SolveOptions = {}): Promise<string> {
    const res = await this.call("Solve", "SolveRequest", "SolveResponse", {
      Definition: definition, allowResultReturn: true, allowResultArrayRef: true,
      ...(opts.cacheImports?.length ? { CacheImports: opts.cacheImports.map((c) => ({ Type: c.Type, Attrs: sortedMap(c.Attrs) })) } : {}),
      ...(opts.evaluate ? { Evaluate: true } : {}),
    });
    const ref = (res.result as { ref?: { id?: string } } | undefined)?.ref?.id;
    if (ref === undefined) throw new Error("Solve returned no single ref");
    return ref;
  }

  async readFile(ref: string, path: string): Promise<Buffer> {
    const res = await this.call("ReadFile", "ReadFileRequest", "ReadFileResponse", { Ref: ref, FilePath: path });
    return (res.Data as Buffer | undefined) ?? Buffer.alloc(0);
  }

  async warn(digest: string, text: string, source: { filename: string; text: string; line: number }): Promise<void> {
    const at = { line: source.line };
    await this.call("Warn", "WarnRequest", "WarnResponse", {
      digest, level: 1, short: Buffer.from(text),
      info: { filename: source.filename, data: Buffer.from(source.text), language: CXFILE_LANGUAGE }, ranges: [{ start: at, end: at }],
    });
  }

  async readDir(ref: string, path: string): Promise<string[]> {
    const res = await this.call("ReadDir", "ReadDirRequest", "ReadDirResponse", { Ref: ref, DirPath: path });
    return ((res.entries ?? []) as { path?: string }[]).map((e) => e.path ?? "");
  }

  async resolveImageConfig(ref: string, platform: Platform, logName: string) {
    const res = await this.call("ResolveImageConfig", "ResolveImageConfigRequest", "ResolveImageConfigResponse", {
      Ref: ref,
      Platform: { OS: platform.os, Architecture: platform.architecture, ...(platform.variant ? { Variant: platform.variant } : {}) },
      ResolveMode: "default",
      LogName: logName,
    });
    return { digest: String(res.Digest ?? ""), config: (res.Config as Buffer | undefined) ?? Buffer.alloc(0) };
  }

  async returnResult(result: Result): Promise<void> {
    const metadata = Object.fromEntries(Object.entries(result.metadata).sort(([a], [b]) => a.localeCompare(b)));
    const refs = "ref" in result ? { ref: { id: result.ref } }
      : "refs" in result ? { refs: { refs: Object.fromEntries(Object.entries(result.refs).map(([platform, id]) => [platform, { id }])) } }
      : {};
    await this.call("Return", "ReturnRequest", "ReturnResponse", { result: { ...refs, metadata } });
  }

  async returnError(code: number, message: string, details: readonly ErrorDetail[] = []): Promise<void> {
    await this.call("Return", "ReturnRequest", "ReturnResponse", { error: { code, message, details: details.map((d) => ({ type_url: d.typeUrl, value: d.value })) } });
  }

  close(): void {
    this.client.close();
  }
}
