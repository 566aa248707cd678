import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { parseCxfile } from "../../frontend/cxfile/parse.js";
import { planBuild } from "../../frontend/plan/plan.js";
import { planToLLB } from "../../frontend/convert/to-llb.js";
import { marshal } from "../../frontend/llb/graph.js";
import { local } from "../../frontend/llb/ops.js";
import { pb } from "../../frontend/protos.js";

const amd64 = { os: "linux", architecture: "amd64" };
const planOpts = { hostPlatforms: [amd64], buildPlatform: amd64, imagePrefix: "containerx/", runtimeTag: "latest" };
const plan = planBuild(parseCxfile("base: minimal/aarch64\ncopy:\n  - hello: /opt/hello/hello\n", "Cxfile"),
  planOpts);
const convert = () => marshal(planToLLB(plan, { sessionId: "s1", contextName: "context", excludePatterns: [] }, amd64));
type Decoded = { inputs?: { digest: string; index: number }[]; source?: { identifier: string; attrs?: Record<string, string> }; exec?: { meta: { args: string[]; env?: string[] }; mounts: { dest: string; input: number; output: number; selector?: string; readonly?: boolean }[]; network?: number }; file?: unknown };
const decode = (bytes: Uint8Array) => pb.Op.toObject(pb.Op.decode(bytes), { longs: Number, defaults: false }) as Decoded;

test("the same plan always marshals to the same bytes and digest", () => {
  const first = convert();
  for (let i = 0; i < 20; i++) {
    const again = convert();
    assert.equal(again.digest, first.digest);
    assert.deepEqual(again.definition.def.map((d) => Buffer.from(d).toString("hex")), first.definition.def.map((d) => Buffer.from(d).toString("hex")));
  }
});

test("map attributes are encoded in sorted order whatever order they were given in", () => {
  const a = marshal(local("context", { sessionId: "s", includePatterns: ["x"], sharedKeyHint: "k" }, "n"));
  const op = decode(a.definition.def[0]);
  assert.deepEqual(Object.keys(op.source!.attrs!), ["local.includepattern", "local.session", "local.sharedkeyhint"]);
});

test("every op's metadata key is the sha256 of its bytes, and the terminal op is last", () => {
  const { definition } = convert();
  const digests = definition.def.map((d) => `sha256:${createHash("sha256").update(d).digest("hex")}`);
  const terminal = decode(definition.def[definition.def.length - 1]);
  assert.equal(terminal.source ?? terminal.exec ?? terminal.file, undefined);
  assert.equal(terminal.inputs!.length, 1);
  assert.ok(digests.includes(terminal.inputs![0].digest));
  for (const d of digests.slice(0, -1)) assert.ok(definition.metadata[d]?.description["llb.customname"], `op ${d} has a progress name`);
  for (const op of definition.def.map(decode)) {
    for (const input of op.inputs ?? []) assert.ok(digests.slice(0, -1).includes(input.digest), "inputs refer to ops in the definition, defined earlier");
  }
});

test("the graph fetches the base, populates the overlay offline and stacks the layers", () => {
  const ops = convert().definition.def.map(decode);
  const sources = ops.filter((o) => o.source).map((o) => o.source!.identifier);
  assert.deepEqual(sources.sort(), ["docker-image://docker.io/containerx/minimal:aarch64", "docker-image://docker.io/containerx/runtime:aarch64", "local://context"]);
  const execs = ops.filter((o) => o.exec);
  const populate = execs.find((o) => o.exec!.meta.args[0] === "/cx/runtime/bin/cx-populate")!.exec!;
  assert.equal(populate.meta.args[0], "/cx/runtime/bin/cx-populate");
  assert.equal(populate.network, 2, "the populate step runs without network");
  assert.deepEqual(populate.mounts.map((m) => [m.dest, m.output]), [["/", -1], ["/cx/base", -1], ["/cx/context", -1], ["/cx/app", 0], ["/tmp", -1]]);
  for (const step of execs) assert.equal(step.exec!.mounts[0].readonly, true, "every step's root is read-only, so BuildKit gives it a snapshot runc can add mount points to");
  assert.equal(populate.mounts[1].selector, "/cx/base");
  const layers = execs.filter((o) => o.exec!.meta.args.includes("cx-add-layer")).map((o) => o.exec!);
  assert.deepEqual(layers.map((l) => l.meta.args.slice(-2)), [["/cx/base", "0"], ["/cx/app", "0"], ["/cx/snapshot", "0"]],
    "base, overlay and snapshot are each their own layer");
  for (const l of layers) {
    assert.deepEqual(l.mounts.map((m) => [m.dest, m.output]), [["/", -1], ["/cx-out", 0], ["/cx-src", -1]]);
    assert.equal(l.network, 2);
  }
  assert.equal(layers[0].mounts[2].selector, "/cx/base");
});

test("SOURCE_DATE_EPOCH is the time stamp of every layer the build adds", () => {
  const ops = marshal(planToLLB(plan, { sessionId: "s1", contextName: "context", excludePatterns: [], sourceDateEpoch: 1700000000 }, amd64)).definition.def.map(decode);
  const stamps = ops.filter((o) => o.exec?.meta.args.includes("cx-add-layer")).map((o) => o.exec!.meta.args.at(-1));
  assert.deepEqual(stamps, ["1700000000", "1700000000", "1700000000"]);
});

test("the snapshot boots the finished guest offline, under the guest settings the image carries, over the app's disk", () => {
  const withGuest = (text: string) => marshal(planToLLB(planBuild(parseCxfile(text, "Cxfile"), planOpts),
    { sessionId: "s1", contextName: "context", excludePatterns: [] }, amd64)).definition.def.map(decode);
  const ops = withGuest("base: minimal/aarch64\nguest: { memory: 1G }\nrun: ['true']\ncopy:\n  - hello: /hello\n");
  const step = ops.find((o) => o.exec?.meta.args[0] === "/cx/runtime/bin/cx-snapshot")!.exec!;
  assert.equal(step.network, 2);
  assert.deepEqual(step.mounts.map((m) => [m.dest, m.output, m.readonly ?? false]),
    [["/", -1, true], ["/cx/base", -1, true], ["/cx/layers/0", -1, true], ["/cx/app", -1, true], ["/cx/snapshot", 0, false], ["/tmp", -1, false]]);
  assert.ok(step.meta.env!.includes("CX_MEMORY=1024M"), "the image's own CX_* defaults shape the machine saved");
  assert.deepEqual(JSON.parse(step.meta.env!.find((e) => e.startsWith("CX_STEP_REQUEST="))!.slice(16)), { backing: "../app/disk.qcow2" });
  const started = withGuest("base: minimal/aarch64\nenv: { PATH: /opt/bin:/bin }\nworkdir: /srv\nentrypoint: [hello, world]\ncopy:\n  - hello: /opt/bin/hello\n");
  const request = started.find((o) => o.exec?.meta.args[0] === "/cx/runtime/bin/cx-snapshot")!.exec!.meta.env!.find((e) => e.startsWith("CX_STEP_REQUEST="))!;
  assert.deepEqual(JSON.parse(request.slice(16)).warm, { program: "hello", cwd: "/srv", env: ["PATH=/opt/bin:/bin"] },
    "the app's program is read in the guest before the save, found as its command finds it");
  const off = withGuest("base: minimal/aarch64\nguest: { snapshot: false }\ncopy:\n  - hello: /hello\n");
  assert.ok(!off.some((o) => o.exec?.meta.args[0] === "/cx/runtime/bin/cx-snapshot"), "snapshot: false builds none");
  assert.ok(!off.some((o) => o.exec?.meta.args.at(-2) === "/cx/snapshot"));
});

const diskBase = (base: string) => marshal(planToLLB(
  planBuild(parseCxfile(`base: ${base}\ncopy:\n  - hello: /hello\n`, "Cxfile"), planOpts),
  { sessionId: "s1", contextName: "context", excludePatterns: [] }, amd64)).definition.def.map(decode);

test("a disk base from a URL is downloaded with its checksum and imported offline before anything stacks on it", () => {
  const sum = "cd".repeat(32);
  const ops = diskBase(`{ disk: "https://example.com/rootfs.img", sha256: ${sum}, arch: aarch64 }`);
  const download = ops.find((o) => o.source?.identifier === "https://example.com/rootfs.img");
  assert.deepEqual(download?.source?.attrs, { "http.checksum": `sha256:${sum}`, "http.filename": "disk" });
  const step = (bin: string) => ops.find((o) => o.exec?.meta.args[0] === `/cx/runtime/bin/${bin}`)!.exec!;
  const [importer, populate] = [step("cx-import-base"), step("cx-populate")];
  assert.equal(importer.network, 2);
  assert.deepEqual(importer.mounts.map((m) => [m.dest, m.output]), [["/", -1], ["/cx/download", -1], ["/cx/kernel-base", -1], ["/cx/base", 0], ["/tmp", -1]]);
  const populateBase = populate.mounts.find((m) => m.dest === "/cx/base")!;
  assert.equal(populateBase.selector, "/", "the overlay stacks on the imported base, not the minimal one");
});

test("a disk base from the context is loaded on its own, apart from the app's files", () => {
  const ops = diskBase("{ disk: img/rootfs.qcow2, arch: aarch64 }");
  const locals = ops.filter((o) => o.source?.identifier === "local://context").map((o) => JSON.parse(o.source!.attrs!["local.includepattern"]));
  assert.deepEqual(locals.sort(), [["hello"], ["img/rootfs.qcow2"]]);
  const request = JSON.parse(ops.find((o) => o.exec?.meta.args[0] === "/cx/runtime/bin/cx-import-base")!.exec!.meta.env!.find((e: string) => e.startsWith("CX_STEP_REQUEST="))!.slice(16));
  assert.equal(request.disk, "/cx/base-context/img/rootfs.qcow2");
  assert.deepEqual(request.boot, { kind: "agent", kernelBase: "/cx/kernel-base" });
});

test("SOURCE_DATE_EPOCH reaches the steps that write a guest disk with e2fsprogs, and only when it is given", () => {
  const requests = (sourceDateEpoch?: number) => {
    const plan = planBuild(parseCxfile("base: { disk: img/rootfs.qcow2, arch: aarch64 }\ncopy:\n  - hello: /hello\n", "Cxfile"), planOpts);
    const ops = marshal(planToLLB(plan, { sessionId: "s1", contextName: "context", excludePatterns: [],
      ...(sourceDateEpoch === undefined ? {} : { sourceDateEpoch }) }, amd64)).definition.def.map(decode);
    return ["cx-import-base", "cx-populate"].map((bin) => JSON.parse(ops.find((o) => o.exec?.meta.args[0] === `/cx/runtime/bin/${bin}`)!
      .exec!.meta.env!.find((e: string) => e.startsWith("CX_STEP_REQUEST="))!.slice(16)) as { sourceDateEpoch?: number });
  };
  assert.deepEqual(requests(1700000000).map((r) => r.sourceDateEpoch), [1700000000, 1700000000]);
  assert.deepEqual(requests().map((r) => r.sourceDateEpoch), [undefined, undefined]);
});

const importRequest = (ops: ReturnType<typeof diskBase>) => JSON.parse(ops.find((o) => o.exec?.meta.args[0] === "/cx/runtime/bin/cx-import-base")!
  .exec!.meta.env!.find((e: string) => e.startsWith("CX_STEP_REQUEST="))!.slice(16));

test("an OS that boots itself is imported with its own boot files, and the image is the runtime plus that base", () => {
  const plan = (base: string) => planToLLB(
    planBuild(parseCxfile(`base: ${base}\nexpose: [22]\n`, "Cxfile"), planOpts),
    { sessionId: "s1", contextName: "context", excludePatterns: [] }, amd64);
  const uefi = marshal(plan("{ disk: os.img, arch: aarch64, boot: uefi }")).definition.def.map(decode);
  assert.ok(!uefi.some((o) => o.source?.identifier?.includes("containerx/minimal")), "no minimal base is fetched");
  assert.ok(!uefi.some((o) => o.exec?.meta.args[0] === "/cx/runtime/bin/cx-populate"), "no app overlay");
  assert.deepEqual(uefi.filter((o) => o.exec?.meta.args.includes("cx-add-layer")).length, 1, "one layer: the OS base");
  assert.deepEqual(importRequest(uefi).boot, { kind: "uefi" });
  const kernel = marshal(plan("{ disk: os.img, arch: aarch64, boot: kernel, kernel: boot/Image, initrd: boot/initrd }")).definition.def.map(decode);
  const locals = kernel.filter((o) => o.source?.identifier === "local://context").map((o) => JSON.parse(o.source!.attrs!["local.includepattern"]));
  assert.deepEqual(locals, [["os.img", "boot/Image", "boot/initrd"]]);
  assert.deepEqual(importRequest(kernel).boot, { kind: "kernel", kernel: "/cx/base-context/boot/Image", initrd: "/cx/base-context/boot/initrd" });
});

test("a run step's secrets are BuildKit secret mounts, read-only to root, and their values are nowhere in the graph", () => {
  const withSecrets = planBuild(parseCxfile("base: minimal/aarch64\nrun:\n  - { command: make, secrets: [token, { id: extra, required: false }] }\n  - echo after\n", "Cxfile"), planOpts);
  type SecretMount = { dest: string; mountType?: number; secretOpt?: { ID: string; mode: number; optional?: boolean }; input: number };
  const ops = marshal(planToLLB(withSecrets, { sessionId: "s1", contextName: "context", excludePatterns: [] }, amd64)).definition.def
    .map((d) => pb.Op.toObject(pb.Op.decode(d), { longs: Number, defaults: false }) as { exec?: { meta: { args: string[]; env: string[] }; mounts: SecretMount[] } });
  const steps = ops.filter((o) => o.exec?.meta.args[0] === "/cx/runtime/bin/cx-run-step");
  const request = (i: number) => JSON.parse(steps[i].exec!.meta.env.find((e) => e.startsWith("CX_STEP_REQUEST="))!.slice("CX_STEP_REQUEST=".length));
  const secretMounts = (i: number) => steps[i].exec!.mounts.filter((m) => m.mountType === 1);
  assert.deepEqual(secretMounts(0).map((m) => [m.dest, m.input, m.secretOpt!.ID, m.secretOpt!.mode.toString(8), m.secretOpt!.optional ?? false]),
    [["/cx/secrets/token", -1, "token", "400", false], ["/cx/secrets/extra", -1, "extra", "400", true]]);
  assert.equal(request(0).secretsDir, "/cx/secrets");
  assert.deepEqual(secretMounts(1), [], "the next step has none");
  assert.equal(request(1).secretsDir, undefined);
});

test("with the Cxfile as source, each run step, the copy step and the base carry their Cxfile lines; digests do not change", () => {
  const text = "base: minimal/aarch64\nrun:\n  - echo one\n  - echo two\ncopy:\n  - a: /a\n  - b: /b\n";
  const planned = planBuild(parseCxfile(text, "Cxfile"), planOpts);
  const graph = planToLLB(planned, { sessionId: "s1", contextName: "context", excludePatterns: [] }, amd64);
  const plain = marshal(graph);
  const mapped = marshal(graph, { source: { filename: "Cxfile", text, language: "Cxfile" } });
  assert.equal(mapped.digest, plain.digest);
  assert.equal(plain.definition.Source, undefined);
  const source = mapped.definition.Source!;
  assert.deepEqual(source.infos, [{ filename: "Cxfile", data: Buffer.from(text), language: "Cxfile" }]);
  const linesOf = (name: string) => {
    const digest = Object.entries(mapped.definition.metadata).find(([, m]) => m.description["llb.customname"].startsWith(name))![0];
    return source.locations[digest].locations[0].ranges.map((r) => r.start.line);
  };
  assert.deepEqual(linesOf("[run 1/2]"), [3]);
  assert.deepEqual(linesOf("[run 2/2]"), [4]);
  assert.deepEqual(linesOf("[copy]"), [6, 7]);
  assert.deepEqual(linesOf("[base] fetch"), [1]);
  const encoded = pb.Definition.decode(pb.Definition.encode(pb.Definition.fromObject(mapped.definition)).finish()) as unknown as { Source: { locations: Record<string, unknown> } };
  assert.equal(Object.keys(encoded.Source.locations).length, 4, "the source map survives protobuf encoding");
});

test("proxy build args go into the run steps' proxy_env, not their env, so they leave the cache key alone", () => {
  const text = "base: minimal/aarch64\nrun:\n  - apt-get update\ncopy:\n  - a: /a\n";
  const build = (proxy: Record<string, string>) => marshal(planToLLB(planBuild(parseCxfile(text, "Cxfile"), { ...planOpts, proxy }),
    { sessionId: "s1", contextName: "context", excludePatterns: [] }, amd64)).definition.def
    .map((d) => pb.Op.toObject(pb.Op.decode(d), { defaults: false }) as { exec?: { meta: { args: string[]; env: string[]; proxy_env?: object } } });
  const runStep = build({ http_proxy: "http://p:3128", no_proxy: "x" }).find((o) => o.exec?.meta.args[0] === "/cx/runtime/bin/cx-run-step")!;
  assert.deepEqual(runStep.exec!.meta.proxy_env, { http_proxy: "http://p:3128", no_proxy: "x" });
  assert.ok(!runStep.exec!.meta.env.some((e) => /proxy/i.test(e)));
  assert.ok(build({}).every((o) => o.exec?.meta.proxy_env === undefined));
  const others = build({ http_proxy: "http://p:3128" }).filter((o) => o.exec && o.exec.meta.args[0] !== "/cx/runtime/bin/cx-run-step");
  assert.ok(others.every((o) => o.exec!.meta.proxy_env === undefined), "only run steps get the proxy");
});
