import { test } from "node:test";
import assert from "node:assert/strict";
import { parseCxfile } from "../../frontend/cxfile/parse.js";
import { planBuild } from "../../frontend/plan/plan.js";
import { describeStepFailure } from "../../frontend/step-failure.js";

const amd64 = { os: "linux", architecture: "amd64" };
const text = "base: minimal/aarch64\nrun:\n  - echo one\n  - [ls, /nonexistent-dir]\ncopy:\n  - a: /a\ntargets:\n  t:\n    run: [\"make it\"]\n";
const plan = (target?: string) => planBuild(parseCxfile(text, "Cxfile"),
  { hostPlatforms: [amd64], buildPlatform: amd64, imagePrefix: "containerx/", runtimeTag: "latest", ...(target ? { target } : {}) });
/** BuildKit's source detail, as it sends it to a frontend: JSON. */
const sourceAt = (line: number) => [{ typeUrl: "github.com/moby/buildkit/errdefs.Source+json",
  value: Buffer.from(JSON.stringify({ info: { filename: "Cxfile" }, ranges: [{ start: { line }, end: { line } }] })) }];
const exited = (code: number) => `Solve: process "/cx/runtime/bin/cx-run-step" did not complete successfully: exit code: ${code}`;

test("a failed step is named by its Cxfile entry and the user's command, its details kept", () => {
  const failure = describeStepFailure(exited(2), sourceAt(4), plan(), "Cxfile")!;
  assert.equal(failure.message, "Cxfile:4: run[1]: ls /nonexistent-dir exited with code 2");
  assert.deepEqual(failure.details, sourceAt(4));
  assert.equal(describeStepFailure(exited(1), sourceAt(9), plan("t"), "Cxfile")!.message, "Cxfile:9: targets.t.run[0]: make it exited with code 1");
  assert.match(describeStepFailure(exited(125), sourceAt(3), plan(), "Cxfile")!.message, /^Cxfile:3: run\[0\]: echo one could not be run in the guest/);
  assert.match(describeStepFailure(exited(125), sourceAt(6), plan(), "Cxfile")!.message, /^Cxfile:6: copy: /);
  assert.match(describeStepFailure(exited(125), sourceAt(1), plan(), "Cxfile")!.message, /^Cxfile:1: base: minimal\/aarch64 could not be made/);
});

test("what cannot be placed is left as BuildKit said it", () => {
  assert.equal(describeStepFailure(exited(1), [], plan(), "Cxfile"), undefined, "no source detail");
  assert.equal(describeStepFailure("Solve: failed to fetch", sourceAt(4), plan(), "Cxfile"), undefined, "not a step's exit");
  assert.equal(describeStepFailure(exited(1), sourceAt(8), plan(), "Cxfile"), undefined, "a line no step comes from");
});
