import { test } from "node:test";
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { connect } from "node:net";
import { readFile } from "node:fs/promises";
import { build } from "../../frontend/build.js";
import { SERVED_FRONTEND_CAPS } from "../../frontend/gateway/caps.js";
import { errorSourceDetail } from "../../frontend/cxfile/error-source.js";
import { CxfileError } from "../../frontend/cxfile/errors.js";
import { GrpcGateway } from "../../frontend/gateway/client.js";
import { workerPlatform } from "../../frontend/gateway/opts.js";
import { relayStdio } from "../../frontend/gateway/stdio-relay.js";
import { gw, pb } from "../../frontend/protos.js";
import { UnsupportedSubrequestError } from "../../frontend/subrequests/serve.js";

type Msg = Record<string, unknown>;

/** The caps Docker 26's BuildKit reports that Containerx looks at. */
const FRONTEND_CAPS = ["solve.base", "resolveimage", "readfile", "return", "returnmap", "proto.refarray", "importcaches", "gateway.warnings"];
const LLB_CAPS = ["source.image", "source.local", "source.local.includepatterns", "source.local.excludepatterns", "source.local.sharedkeyhint",
  "source.http", "source.http.checksum", "exec.meta.base", "exec.meta.network", "exec.mount.bind", "exec.mount.selector", "platform",
  "meta.description", "meta.ignorecache", "exporter.image.annotations", "exec.mount.secret"];

interface BridgeOptions {
  /** Caps reported disabled. */
  readonly without?: readonly string[];
  /** Image references that do not resolve. */
  readonly missing?: readonly string[];
}

/** A fake LLBBridge: records calls, serves the Cxfile (and other files) and image configs, returns fixed refs. */
function fakeBridge(files: Record<string, string>, { without = [], missing = [] }: BridgeOptions = {}) {
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
        try {
          cb(null, handle(call.request));
        } catch (err) {
          cb({ code: grpc.status.NOT_FOUND, details: (err as Error).message });
        }
      },
    };
  };
  let solves = 0;
  const methods = {
    Ping: method("Ping", "PingRequest", "PongResponse", () => {
      const caps = (ids: string[]) => ids.map((ID) => ({ ID, Enabled: !without.includes(ID) }));
      return { FrontendAPICaps: caps(FRONTEND_CAPS), LLBCaps: caps(LLB_CAPS) };
    }),
    Solve: method("Solve", "SolveRequest", "SolveResponse", () => ({ result: { ref: { id: `ref-${++solves}` } } })),
    ReadFile: method("ReadFile", "ReadFileRequest", "ReadFileResponse", (req) => {
      const data = files[req.FilePath as string];
      if (data === undefined) throw new Error(`open ${String(req.FilePath)}: no such file or directory`);
      return { Data: Buffer.from(data) };
    }),
    // The context as files' paths name it: every solve's result holds them all.
    ReadDir: method("ReadDir", "ReadDirRequest", "ReadDirResponse", (req) => {
      const dir = req.DirPath === "." ? "" : `${String(req.DirPath)}/`;
      const names = Object.keys(files).filter((f) => f.startsWith(dir)).map((f) => f.slice(dir.length).split("/")[0]);
      return { entries: [...new Set(names)].map((path) => ({ path })) };
    }),
    ResolveImageConfig: method("ResolveImageConfig", "ResolveImageConfigRequest", "ResolveImageConfigResponse", (req) => {
      if (missing.includes(req.Ref as string)) throw new Error(`${String(req.Ref)}: not found`);
      return { Digest: "sha256:00", Config: Buffer.from(JSON.stringify({ history: [{ created_by: "runtime layer" }] })) };
    }),
    Return: method("Return", "ReturnRequest", "ReturnResponse", () => ({})),
    Warn: method("Warn", "WarnRequest", "WarnResponse", () => ({})),
  };
  const server = new grpc.Server();
  server.addService(
    Object.fromEntries(Object.entries(methods).map(([k, v]) => [k, v.def])) as unknown as grpc.ServiceDefinition,
    Object.fromEntries(Object.entries(methods).map(([k, v]) => [k, v.impl])) as unknown as grpc.UntypedServiceImplementation,
  );
  return { server, calls };
}

async function withGateway(cxfile: string | Record<string, string>, fn: (gateway: GrpcGateway, calls: { method: string; req: Msg }[]) => Promise<void>,
  bridge: BridgeOptions = {}) {
  const { server, calls } = fakeBridge(typeof cxfile === "string" ? { Cxfile: cxfile } : cxfile, bridge);
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

type DecodedOp = { platform?: { Architecture: string }; source?: { identifier: string }; exec?: { meta: { args: string[] } } };
const decodeOps = (req: Msg) => (req.Definition as { def: Buffer[] }).def.map((d) => pb.Op.toObject(pb.Op.decode(d)) as DecodedOp);

const env = {
  BUILDKIT_SESSION_ID: "sess",
  BUILDKIT_WORKERS: JSON.stringify([{ ID: "w", Platforms: [{ OS: "linux", Architecture: "amd64" }, { OS: "linux", Architecture: "arm64" }] }]),
  BUILDKIT_FRONTEND_OPT_0: "filename=Cxfile",
  BUILDKIT_FRONTEND_OPT_1: "platform=linux/arm64",
};

test("Ping answers through the relay with the server's capabilities", async () => {
  await withGateway("", async (gateway) => {
    const pong = await gateway.ping();
    assert.deepEqual(pong.frontendCaps.map((c) => c.ID), FRONTEND_CAPS);
    assert.ok(pong.llbCaps.every((c) => c.Enabled));
  });
});

test("a build reads the Cxfile, solves the app graph and returns ref plus image config", async () => {
  const cxfile = "# syntax=containerx/frontend\nbase: minimal/aarch64\ncopy:\n  - hello: /opt/hello/hello\nentrypoint: [/opt/hello/hello, world]\n";
  await withGateway({ Cxfile: cxfile, hello: "binary" }, async (gateway, calls) => {
    const result = await build(gateway, env);
    assert.ok("ref" in result, "one platform asked for: one image, not a platform map");
    assert.equal(result.ref, "ref-4");
    assert.deepEqual(calls.map((c) => c.method),
      ["Ping", "Solve", "ReadFile", "Solve", "ReadFile", "ResolveImageConfig", "Solve", "ReadDir", "ResolveImageConfig", "Solve"]);
    assert.deepEqual([calls[2].req.FilePath, calls[4].req.FilePath], ["Cxfile", ".dockerignore"]);
    assert.deepEqual([calls[5].req.Ref, calls[8].req.Ref], ["docker.io/containerx/minimal:aarch64", "docker.io/containerx/runtime:aarch64"]);
    assert.deepEqual([calls[7].req.DirPath], ["."], "the copy source is looked for before anything is built");
    const ops = decodeOps(calls[9].req);
    const runtimes = ops.filter((o) => o.source?.identifier === "docker-image://docker.io/containerx/runtime:aarch64");
    assert.deepEqual(runtimes.map((o) => o.platform!.Architecture).sort(), ["amd64", "arm64"], "the image is the arm64 runtime; steps use the worker's");
    assert.ok(ops.filter((o) => o.exec).every((o) => o.platform!.Architecture === "amd64"), "every step runs natively on the worker");

    const config = JSON.parse(result.metadata["containerimage.config"].toString());
    assert.equal(config.architecture, "arm64");
    assert.deepEqual(config.config.Entrypoint, ["/cx/runtime/bin/cx-launch"]);
    assert.ok(config.config.Env.includes('CX_ENTRYPOINT=["/opt/hello/hello","world"]'));
    assert.equal(config.config.Labels["org.containerx.guest.arch"], "aarch64");
    assert.deepEqual(config.history.map((h: { created_by: string }) => h.created_by.split(" ")[0]), ["runtime", "containerx:", "containerx:", "containerx:"], "base, overlay, snapshot");
    assert.equal(result.metadata["annotation.org.containerx.guest.arch"].toString(), "aarch64", "manifest annotations for the image exporter");
    assert.equal(result.metadata["annotation.org.opencontainers.image.base.name"].toString(), "docker.io/containerx/runtime:aarch64");

    await gateway.returnResult(result);
    assert.equal(calls.at(-1)!.method, "Return");
  });
});

test("a Cxfile error surfaces with file and line, before any app step is solved", async () => {
  await withGateway("base: minimal/aarch64\ncopy:\n  - src: a\n    dset: /b\n", async (gateway, calls) => {
    const err = await build(gateway, env).then(() => assert.fail("the build should fail"), (e: unknown) => e);
    assert.ok(err instanceof CxfileError);
    assert.match(err.message, /Cxfile:4:5: unknown key 'dset'/);
    assert.deepEqual(calls.map((c) => c.method), ["Ping", "Solve", "ReadFile", "Solve", "ReadFile"]);
    await gateway.returnError(3, err.message, [errorSourceDetail(err)!]);
    const ret = calls.at(-1)!.req as { error: { code: number; message: string; details: { type_url: string; value: Buffer }[] } };
    assert.deepEqual([ret.error.code, ret.error.message], [3, err.message]);
    // BuildKit prints the Cxfile lines around the error from this detail.
    assert.equal(ret.error.details[0].type_url, "errdefs.Source");
    const source = pb.ErrorSource.toObject(pb.ErrorSource.decode(ret.error.details[0].value)) as
      { info: { filename: string; data: Buffer }; ranges: { start: { line: number; character: number } }[] };
    assert.equal(source.info.filename, "Cxfile");
    assert.equal(Buffer.from(source.info.data).toString(), "base: minimal/aarch64\ncopy:\n  - src: a\n    dset: /b\n");
    assert.deepEqual(source.ranges[0].start, { line: 4, character: 5 });
  });
});

test("several host platforms give a platform map whose images share every guest step", async () => {
  const cxfile = "base: minimal/aarch64\nrun: [\"echo hi\"]\ncopy:\n  - app: /opt/app\n";
  await withGateway({ Cxfile: cxfile, app: "binary" }, async (gateway, calls) => {
    const result = await build(gateway, { ...env, BUILDKIT_FRONTEND_OPT_1: "platform=linux/amd64,linux/arm64" });
    assert.ok("refs" in result);
    const solves = calls.filter((c) => c.method === "Solve").slice(-2);
    assert.deepEqual(Object.keys(result.refs).sort(), ["linux/amd64", "linux/arm64"]);
    const platforms = JSON.parse(result.metadata["refs.platforms"].toString()) as { Platforms: { ID: string; Platform: { architecture: string } }[] };
    assert.deepEqual(platforms.Platforms.map((p) => [p.ID, p.Platform.architecture]).sort(), [["linux/amd64", "amd64"], ["linux/arm64", "arm64"]]);
    for (const id of ["linux/amd64", "linux/arm64"]) {
      const config = JSON.parse(result.metadata[`containerimage.config/${id}`].toString());
      assert.equal(`linux/${config.architecture}`, id);
    }
    assert.equal(result.metadata["containerimage.config"], undefined);
    // The run step, the app overlay and the snapshot are the same ops (same digests) in both graphs: BuildKit makes them once.
    const guestSteps = (req: Msg) => decodeOps(req).filter((o) => o.exec && !o.exec.meta.args[0].startsWith("/bin/sh")).map((o) => JSON.stringify(o));
    const [amd64, arm64] = solves.map((c) => guestSteps(c.req));
    assert.equal(amd64.length, 3);
    assert.deepEqual(amd64, arm64);
    await gateway.returnResult(result);
    const returned = calls.at(-1)!.req as { result: { refs: { refs: Record<string, { id: string }> } } };
    assert.deepEqual(Object.keys(returned.result.refs.refs).sort(), ["linux/amd64", "linux/arm64"]);
  });
});

test("a BuildKit without what the build needs is told so before anything is built", async () => {
  await withGateway("base: minimal/aarch64\n", async (gateway, calls) => {
    await assert.rejects(build(gateway, { ...env, BUILDKIT_FRONTEND_OPT_1: "platform=linux/amd64,linux/arm64" }),
      /this BuildKit lacks what the build needs: returnmap \(a multi-platform result/);
    assert.equal(calls.filter((c) => c.method === "Solve").length, 2, "only the Cxfile and .dockerignore were read");
  }, { without: ["returnmap"] });
  await withGateway("base: minimal/aarch64\n", async (gateway) => {
    const result = await build(gateway, env);
    assert.ok(Object.keys(result.metadata).every((k) => !k.startsWith("annotation.")), "no annotations for an exporter that takes none");
    assert.ok(result.metadata["containerimage.config"]);
  }, { without: ["exporter.image.annotations"] });
});

test("a guest base image that is not there is named, with where it comes from, before anything is built", async () => {
  await withGateway("base: minimal/riscv64\n", async (gateway, calls) => {
    const err = await build(gateway, env).then(() => assert.fail("the build should fail"), (e: unknown) => e);
    assert.ok(err instanceof CxfileError);
    assert.match(err.message, /Cxfile:1:7: the guest base image docker.io\/containerx\/minimal:riscv64 is not available: .*not found/);
    assert.match(err.message, /bootstrap\/images.sh minimal\/riscv64, .*bootstrap\/publish.sh/);
    assert.equal(calls.filter((c) => c.method === "Solve").length, 2, "only the Cxfile and .dockerignore were read");
  }, { missing: ["docker.io/containerx/minimal:riscv64"] });
});

test("a runtime image missing for a host platform is named, with how to build it for every platform", async () => {
  await withGateway("base: minimal/aarch64\n", async (gateway) => {
    const err = await build(gateway, env).then(() => assert.fail("the build should fail"), (e: unknown) => e);
    assert.match(String(err), /the runtime image docker.io\/containerx\/runtime:aarch64 is not available for linux\/arm64: .*not found \(build it on this machine with bootstrap\/images.sh runtime\/aarch64, with --platforms all/);
  }, { missing: ["docker.io/containerx/runtime:aarch64"] });
});

test("build args, target, labels, --no-cache and .dockerignore reach the graph and the config", async () => {
  const cxfile = [
    "args: { GREETING: hi }",
    "base: minimal/aarch64",
    "copy:",
    "  - app: /opt/app",
    "env: { MSG: \"${GREETING}\" }",
    "targets:",
    "  one: { cmd: [one] }",
    "  two: { cmd: [two], run: [\"echo two\"] }",
  ].join("\n");
  await withGateway({ Cxfile: cxfile, app: "binary", ".dockerignore": "# comment\n*.log\n\n!keep.log\n" }, async (gateway, calls) => {
    const result = await build(gateway, {
      ...env,
      BUILDKIT_FRONTEND_OPT_2: "build-arg:GREETING=hello",
      BUILDKIT_FRONTEND_OPT_3: "target=two",
      BUILDKIT_FRONTEND_OPT_4: "label:org.example.owner=me",
      BUILDKIT_FRONTEND_OPT_5: "no-cache=",
    });
    const config = JSON.parse(result.metadata["containerimage.config"]!.toString());
    assert.deepEqual(config.config.Cmd, ["two"]);
    assert.ok(config.config.Env.includes("MSG=hello"));
    assert.equal(config.config.Labels["org.example.owner"], "me");
    assert.equal(config.config.Labels["org.containerx.target"], "two");
    const solve = calls.filter((c) => c.method === "Solve").at(-1)!.req.Definition as { def: Buffer[]; metadata: Record<string, { ignore_cache?: boolean; description: Record<string, string> }> };
    const ops = solve.def.map((d) => pb.Op.toObject(pb.Op.decode(d)) as { source?: { identifier: string; attrs: Record<string, string> } });
    const context = ops.find((o) => o.source?.identifier === "local://context")!;
    assert.deepEqual(JSON.parse(context.source!.attrs["local.excludepatterns"]), ["*.log", "!keep.log"]);
    assert.deepEqual(JSON.parse(context.source!.attrs["local.includepattern"]), ["app"]);
    assert.ok(Object.values(solve.metadata).every((m) => m.ignore_cache === true), "--no-cache marks every op");
    assert.ok(Object.values(solve.metadata).some((m) => m.description["llb.customname"] === "[run 1/1] echo two"));
  });
});

test("the worker's platform is read in both spellings BuildKit has used", () => {
  const workers = (platform: object) => ({ BUILDKIT_WORKERS: JSON.stringify([{ ID: "w", Platforms: [platform] }]) });
  assert.deepEqual(workerPlatform(workers({ OS: "linux", Architecture: "arm64", Variant: "v8" })), { os: "linux", architecture: "arm64", variant: "v8" });
  assert.deepEqual(workerPlatform(workers({ os: "linux", architecture: "amd64" })), { os: "linux", architecture: "amd64" }, "BuildKit v0.8 (Docker 20.10)");
  assert.equal(workerPlatform(workers({})), undefined);
  assert.equal(workerPlatform({ BUILDKIT_WORKERS: "not json" }), undefined);
});

const DESCRIBED = [
  "# syntax=containerx/frontend",
  "args:",
  "  # The greeting the app prints",
  "  GREETING: hi",
  "  UNSAID: x",
  "# An aarch64 guest with the app",
  "base: minimal/aarch64",
  "run:",
  "  - command: cat /run/secrets/token",
  "    secrets: [token]",
  "targets:",
  "  # The debug build",
  "  debug: { cmd: [debug] }",
  "  plain: { cmd: [plain] }",
].join("\n");

test("subrequests are answered from the Cxfile with nothing built: targets, outline, describe", async () => {
  await withGateway(DESCRIBED, async (gateway, calls) => {
    const targets = await build(gateway, { ...env, BUILDKIT_FRONTEND_OPT_2: "requestid=frontend.targets" });
    assert.ok(!("ref" in targets) && !("refs" in targets), "an answer, not an image");
    assert.equal(calls.filter((c) => c.method === "Solve").length, 1, "only the Cxfile was read");
    assert.equal(targets.metadata.version.toString(), "1.0.0");
    const list = JSON.parse(targets.metadata["result.json"].toString()) as { targets: { name?: string; default?: boolean; description?: string; location: { ranges: { start: { line: number } }[] } }[] };
    assert.deepEqual(list.targets.map((t) => [t.name, t.default, t.description, t.location.ranges[0].start.line]), [
      [undefined, true, "An aarch64 guest with the app", 7],
      ["debug", undefined, "The debug build", 13],
      ["plain", undefined, undefined, 14],
    ]);
    assert.match(targets.metadata["result.txt"].toString(), /^TARGET\s+DESCRIPTION\n\(default\)\s+An aarch64 guest with the app\ndebug\s+The debug build\nplain\n$/);

    const outline = await build(gateway, { ...env, BUILDKIT_FRONTEND_OPT_2: "requestid=frontend.outline", BUILDKIT_FRONTEND_OPT_3: "target=debug",
      BUILDKIT_FRONTEND_OPT_4: "build-arg:GREETING=hello" });
    const o = JSON.parse(outline.metadata["result.json"].toString());
    assert.equal(o.name, "debug");
    assert.deepEqual(o.args.map((a: { name: string; value: string; description?: string }) => [a.name, a.value, a.description]),
      [["GREETING", "hello", "The greeting the app prints"], ["UNSAID", "x", undefined]]);
    assert.deepEqual(o.secrets, [{ name: "token", required: true, location: { ranges: [{ start: { line: 9 }, end: { line: 9 } }] } }]);
    assert.equal(Buffer.from(o.sources[0], "base64").toString(), DESCRIBED);

    const described = await build(gateway, { ...env, BUILDKIT_FRONTEND_OPT_2: "requestid=frontend.subrequests.describe" });
    assert.deepEqual(JSON.parse(described.metadata["result.json"].toString()).map((r: { name: string }) => r.name),
      ["frontend.subrequests.describe", "frontend.outline", "frontend.targets"]);

    await assert.rejects(build(gateway, { ...env, BUILDKIT_FRONTEND_OPT_2: "requestid=frontend.lint" }), UnsupportedSubrequestError);
    await assert.rejects(build(gateway, { ...env, BUILDKIT_FRONTEND_OPT_2: "requestid=frontend.outline", BUILDKIT_FRONTEND_OPT_3: "target=nope" }),
      /target 'nope' is not defined; the Cxfile's targets: debug, plain/);
    await gateway.returnResult(targets);
    const returned = calls.at(-1)!.req as { result: { ref?: unknown; metadata: Record<string, Buffer> } };
    assert.equal(returned.result.ref, undefined);
    assert.equal(returned.result.metadata["result.json"].toString(), targets.metadata["result.json"].toString());
  });
});

test("--cache-from sources reach the app's solve, as buildx (cache-imports) and older clients (cache-from) send them", async () => {
  const cxfile = "base: minimal/aarch64\ncopy:\n  - hello: /opt/hello\n";
  await withGateway({ Cxfile: cxfile, hello: "binary" }, async (gateway, calls) => {
    await build(gateway, {
      ...env,
      BUILDKIT_FRONTEND_OPT_2: `cache-imports=${JSON.stringify([{ Type: "local", Attrs: { src: "/c", digest: "sha256:1" } }, { Type: "registry", Attrs: { ref: "r/c:1" } }])}`,
      BUILDKIT_FRONTEND_OPT_3: "cache-from=old/ref:1",
    });
    const solves = calls.filter((c) => c.method === "Solve");
    const app = solves.at(-1)!.req as { CacheImports: { Type: string; Attrs: Record<string, string> }[] };
    assert.deepEqual(app.CacheImports, [
      { Type: "local", Attrs: { digest: "sha256:1", src: "/c" } },
      { Type: "registry", Attrs: { ref: "r/c:1" } },
      { Type: "registry", Attrs: { ref: "old/ref:1" } },
    ]);
    assert.ok(solves.slice(0, -1).every((s) => s.req.CacheImports === undefined), "reading the Cxfile imports no cache");
  });
});

test("a copy source missing from the context fails at its line before anything is built, globs included", async () => {
  for (const [src, line] of [["missing.bin", 4], ["bin/*.so", 4]] as const) {
    const cxfile = `base: minimal/aarch64\nrun: ["echo hi"]\ncopy:\n  - src: "${src}"\n    dest: /opt/\n  - bin/tool: /opt/tool\n`;
    await withGateway({ Cxfile: cxfile, "bin/tool": "x", "bin/a.txt": "y" }, async (gateway, calls) => {
      const err = await build(gateway, env).then(() => assert.fail("the build should fail"), (e: unknown) => e);
      assert.ok(err instanceof CxfileError, String(err));
      assert.equal(err.message, `Cxfile:${line}:5: copy: ${src}: not found in the build context (context paths are relative to the context directory; check .dockerignore does not exclude it)`);
      const solved = calls.filter((c) => c.method === "Solve").flatMap((c) => decodeOps(c.req));
      assert.ok(!solved.some((o) => o.exec), "no step was solved");
    });
  }
});

test("named contexts: copy from a --build-context directory or an image, and a base replaced by name", async () => {
  const cxfile = [
    "base: minimal/aarch64",
    "copy:",
    "  - { from: assets, src: \"img/*.png\", dest: /opt/img/ }",
    "  - { from: containerx/frontend, src: /opt/containerx/package.json, dest: /etc/frontend.json }",
    "  - app: /opt/app",
  ].join("\n");
  const files = { Cxfile: cxfile, app: "x", "img/a.png": "p", "opt/containerx/package.json": "{}" };
  await withGateway(files, async (gateway, calls) => {
    await build(gateway, {
      ...env,
      BUILDKIT_FRONTEND_OPT_2: "context:assets=local:assets",
      BUILDKIT_FRONTEND_OPT_3: "context:containerx/minimal:aarch64=docker-image://127.0.0.1:5000/mirror/minimal:aarch64",
    });
    const ops = decodeOps(calls.filter((c) => c.method === "Solve").at(-1)!.req) as (DecodedOp & { source?: { attrs?: Record<string, string> }; exec?: { meta: { env?: string[] } } })[];
    const sources = ops.flatMap((o) => (o.source ? [o.source.identifier] : []));
    assert.ok(sources.includes("local://assets"), "the directory context is its own local source");
    assert.ok(sources.includes("docker-image://docker.io/containerx/frontend:latest"), "a from that names no context is an image");
    assert.ok(sources.includes("docker-image://127.0.0.1:5000/mirror/minimal:aarch64"), "the base is the named context's image");
    assert.ok(!sources.includes("docker-image://docker.io/containerx/minimal:aarch64"));
    assert.deepEqual(JSON.parse(ops.find((o) => o.source?.identifier === "local://assets")!.source!.attrs!["local.includepattern"]), ["img/*.png"]);
    const populate = ops.find((o) => o.exec?.meta.args[0] === "/cx/runtime/bin/cx-populate")!;
    const request = JSON.parse(populate.exec!.meta.env!.find((e) => e.startsWith("CX_STEP_REQUEST="))!.slice("CX_STEP_REQUEST=".length));
    assert.deepEqual(request.copies.map((c: { source: string; root?: string }) => [c.source, c.root]), [
      ["/cx/named/0/img/*.png", "/cx/named/0"],
      ["/cx/named/1/opt/containerx/package.json", "/cx/named/1"],
      ["/cx/context/app", undefined],
    ]);
  });
  await withGateway({ Cxfile: "base: minimal/aarch64\ncopy:\n  - { from: assets, src: nope.png, dest: /x }\n" }, async (gateway) => {
    await assert.rejects(build(gateway, { ...env, BUILDKIT_FRONTEND_OPT_2: "context:assets=local:assets" }), /Cxfile:3:5: copy: nope\.png: not found in 'assets'/);
  });
  await withGateway({ Cxfile: "base: minimal/aarch64\n" }, async (gateway) => {
    await assert.rejects(build(gateway, { ...env, BUILDKIT_FRONTEND_OPT_2: "context:containerx/minimal:aarch64=git://example.org/x.git" }),
      /Containerx takes a directory, docker-image:\/\/REF or an https:\/\/ file/);
  });
});

test("a build arg nothing uses is warned about on the Cxfile's own op, pointing at its args; a BuildKit without warnings gets none", async () => {
  const cxfile = "# syntax=containerx/frontend\nargs:\n  USED: x\nbase: minimal/aarch64\n";
  const opts = { ...env, BUILDKIT_FRONTEND_OPT_2: "build-arg:USED=1", BUILDKIT_FRONTEND_OPT_3: "build-arg:TYPO=1", BUILDKIT_FRONTEND_OPT_4: "build-arg:HTTP_PROXY=http://p" };
  await withGateway(cxfile, async (gateway, calls) => {
    await build(gateway, opts);
    const warns = calls.filter((c) => c.method === "Warn").map((c) => c.req as { digest: string; short: Buffer; ranges: { start: { line: number } }[] });
    assert.deepEqual(warns.map((w) => [w.short.toString(), w.ranges[0].start.line]), [["build-arg TYPO is not declared under args: in Cxfile, so nothing uses it", 3]]);
    const cxfileOp = decodeOps(calls.find((c) => c.method === "Solve")!.req).find((o) => o.source?.identifier === "local://dockerfile");
    assert.ok(cxfileOp, "the Cxfile was read by its own op");
    assert.match(warns[0].digest, /^sha256:[0-9a-f]{64}$/);
  });
  await withGateway(cxfile, async (gateway, calls) => {
    await build(gateway, opts);
    assert.ok(!calls.some((c) => c.method === "Warn"), "BuildKit v0.8 has no Warn");
  }, { without: ["gateway.warnings"] });
});

test("the frontend image's caps label claims exactly what the frontend serves", async () => {
  const dockerfile = await readFile(new URL("../../../Dockerfile", import.meta.url), "utf8");
  const label = /^LABEL moby\.buildkit\.frontend\.caps="([^"]*)"$/m.exec(dockerfile);
  assert.ok(label, "the Dockerfile's frontend stage labels the image's caps");
  assert.deepEqual(label[1].split(","), [...SERVED_FRONTEND_CAPS]);
});
