import { test } from "node:test";
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { connect } from "node:net";
import { build } from "../../frontend/build.js";
import { GrpcGateway } from "../../frontend/gateway/client.js";
import { relayStdio } from "../../frontend/gateway/stdio-relay.js";
import { gw, pb } from "../../frontend/protos.js";

type Msg = Record<string, unknown>;

/** A fake LLBBridge: records calls, serves the Cxfile, returns fixed refs. */
function fakeBridge(cxfile: string) {
  const calls: { method: string; req: Msg }[] = [];
  const method = (name: string, reqType: string, resType: string, handle: (req: Msg) => Msg) => {
    const req = gw(reqType);
    const res = gw(resType);
    return {
      def: {
        path: `/moby.buildkit.v1.frontend.LLBBridge/${name}`,
        requestStream: false,
        responseStream: false,
        requestSerialize: (m: Msg) => Buffer.from(req.encode(req.fromObject(m)).finish()),
        requestDeserialize: (b: Buffer) => req.toObject(req.decode(b), { longs: Number, bytes: Buffer }) as Msg,
        responseSerialize: (m: Msg) => Buffer.from(res.encode(res.fromObject(m)).finish()),
        responseDeserialize: (b: Buffer) => res.toObject(res.decode(b)) as Msg,
      },
      impl: (call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) => {
        calls.push({ method: name, req: call.request });
        cb(null, handle(call.request));
      },
    };
  };
  let solves = 0;
  const methods = {
    Ping: method("Ping", "PingRequest", "PongResponse", () => ({ FrontendAPICaps: [{ ID: "solve.base", Enabled: true }] })),
    Solve: method("Solve", "SolveRequest", "SolveResponse", () => ({ result: { ref: { id: `ref-${++solves}` } } })),
    ReadFile: method("ReadFile", "ReadFileRequest", "ReadFileResponse", () => ({ Data: Buffer.from(cxfile) })),
    ResolveImageConfig: method("ResolveImageConfig", "ResolveImageConfigRequest", "ResolveImageConfigResponse",
      () => ({ Digest: "sha256:00", Config: Buffer.from(JSON.stringify({ history: [{ created_by: "runtime layer" }] })) })),
    Return: method("Return", "ReturnRequest", "ReturnResponse", () => ({})),
  };
  const server = new grpc.Server();
  server.addService(
    Object.fromEntries(Object.entries(methods).map(([k, v]) => [k, v.def])) as unknown as grpc.ServiceDefinition,
    Object.fromEntries(Object.entries(methods).map(([k, v]) => [k, v.impl])) as unknown as grpc.UntypedServiceImplementation,
  );
  return { server, calls };
}

async function withGateway(cxfile: string, fn: (gateway: GrpcGateway, calls: { method: string; req: Msg }[]) => Promise<void>) {
  const { server, calls } = fakeBridge(cxfile);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  // The gateway reaches the server the way it reaches BuildKit: through the
  // stdio relay, here spliced onto one TCP connection instead of the pipes.
  const upstream = connect(port, "127.0.0.1");
  await new Promise((r) => upstream.once("connect", r));
  const relay = await relayStdio(upstream, upstream);
  const gateway = new GrpcGateway(relay.target);
  try {
    await fn(gateway, calls);
  } finally {
    gateway.close();
    relay.close();
    upstream.destroy();
    server.forceShutdown();
  }
}

const env = {
  BUILDKIT_SESSION_ID: "sess",
  BUILDKIT_FRONTEND_OPT_0: "filename=Cxfile",
  BUILDKIT_FRONTEND_OPT_1: "platform=linux/arm64",
};

test("Ping answers through the relay with the server's capabilities", async () => {
  await withGateway("", async (gateway) => {
    const pong = await gateway.ping();
    assert.deepEqual(pong.frontendCaps.map((c) => c.ID), ["solve.base"]);
  });
});

test("a build reads the Cxfile, solves the app graph and returns ref plus image config", async () => {
  const cxfile = "# syntax=containerx/frontend\nbase: minimal/aarch64\ncopy:\n  - hello: /opt/hello/hello\nentrypoint: [/opt/hello/hello, world]\n";
  await withGateway(cxfile, async (gateway, calls) => {
    const result = await build(gateway, env);
    assert.equal(result.ref, "ref-2");
    assert.deepEqual(calls.map((c) => c.method), ["Solve", "ReadFile", "ResolveImageConfig", "Solve"]);
    assert.equal(calls[1].req.FilePath, "Cxfile");
    const def = (calls[3].req.Definition as { def: Buffer[] }).def;
    const ops = def.map((d) => pb.Op.toObject(pb.Op.decode(d)) as { platform?: { Architecture: string } });
    assert.ok(ops.filter((o) => o.platform).every((o) => o.platform!.Architecture === "arm64"), "ops run on the requested host platform");

    const config = JSON.parse(result.metadata["containerimage.config"].toString());
    assert.equal(config.architecture, "arm64");
    assert.deepEqual(config.config.Entrypoint, ["/cx/runtime/bin/cx-launch"]);
    assert.ok(config.config.Env.includes('CX_ENTRYPOINT=["/opt/hello/hello","world"]'));
    assert.equal(config.config.Labels["org.containerx.guest.arch"], "aarch64");
    assert.deepEqual(config.history.map((h: { created_by: string }) => h.created_by.split(" ")[0]), ["runtime", "containerx:", "containerx:"]);

    await gateway.returnResult(result);
    assert.equal(calls.at(-1)!.method, "Return");
  });
});

test("a Cxfile error surfaces with file and line, before any app step is solved", async () => {
  await withGateway("base: minimal/aarch64\ncopy:\n  - src: a\n    dset: /b\n", async (gateway, calls) => {
    await assert.rejects(build(gateway, env), /Cxfile:4:5: unknown key 'dset'/);
    assert.deepEqual(calls.map((c) => c.method), ["Solve", "ReadFile"]);
    await gateway.returnError(3, "Cxfile:4:5: unknown key 'dset'");
    const ret = calls.at(-1)!.req as { error: { code: number; message: string } };
    assert.deepEqual([ret.error.code, ret.error.message], [3, "Cxfile:4:5: unknown key 'dset'"]);
  });
});

test("several target platforms are refused clearly for now", async () => {
  await withGateway("base: minimal/aarch64\n", async (gateway) => {
    await assert.rejects(build(gateway, { ...env, BUILDKIT_FRONTEND_OPT_1: "platform=linux/amd64,linux/arm64" }), /several platforms/);
  });
});
