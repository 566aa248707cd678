import { test } from "node:test";
import assert from "node:assert/strict";
import { parseCxfile } from "../../frontend/cxfile/parse.js";
import { planBuild } from "../../frontend/plan/plan.js";
import { describeStepFailure } from "../../frontend/step-failure.js";

const amd64 = { os: "linux", architecture: "amd64" };
const text = "base: minimal/aarch64\nrun:\n  - echo one\n  - [ls, /nonexistent-dir]\ncopy:\n  - a: /a\ntargets:\n  t:\n    run: [\"make it\", \"false\"]\n";
const plan = (target?: string) => planBuild(parseCxfile(text, "Cxfile"),
  { hostPlatforms: [amd64], buildPlatform: amd64, imagePrefix: "containerx/", runtimeTag: "latest", ...(target ? { target } : {}) });
/** BuildKit's source detail, as it sends it to a frontend: JSON, the op's ranges as the frontend gave them. */
const sourceAt = (line: number, character: number) => [{ typeUrl: "github.com/moby/buildkit/errdefs.Source+json",
  value: Buffer.from(JSON.stringify({ info: { filename: "Cxfile" }, ranges: [{ start: { line, character }, end: { line, character } }] })) }];
const exited = (code: number) => `Solve: process "/cx/runtime/bin/cx-run-step" did not complete successfully: exit code: ${code}`;

test("a failed step is named by its Cxfile entry and the user's command, its details kept", () => {
  const failure = describeStepFailure(exited(2), sourceAt(4, 5), plan(), "Cxfile")!;
  assert.equal(failure.message, "Cxfile:4: run[1]: ls /nonexistent-dir exited with code 2");
  assert.deepEqual(failure.details, sourceAt(4, 5));
  assert.equal(describeStepFailure(exited(1), sourceAt(9, 11), plan("t"), "Cxfile")!.message, "Cxfile:9: targets.t.run[0]: make it exited with code 1");
  assert.equal(describeStepFailure(exited(1), sourceAt(9, 22), plan("t"), "Cxfile")!.message, "Cxfile:9: targets.t.run[1]: false exited with code 1",
    "two entries on one line are told apart by their columns");
  assert.match(describeStepFailure(exited(125), sourceAt(3, 5), plan(), "Cxfile")!.message, /^Cxfile:3: run\[0\]: echo one could not be run in the guest/);
  assert.match(describeStepFailure(exited(125), sourceAt(6, 5), plan(), "Cxfile")!.message, /^Cxfile:6: copy: /);
  assert.match(describeStepFailure(exited(125), sourceAt(1, 7), plan(), "Cxfile")!.message, /^Cxfile:1: base: minimal\/aarch64 could not be made/);
});

test("what cannot be placed is left as BuildKit said it", () => {
  assert.equal(describeStepFailure(exited(1), [], plan(), "Cxfile"), undefined, "no source detail");
  assert.equal(describeStepFailure("Solve: failed to fetch", sourceAt(4, 5), plan(), "Cxfile"), undefined, "not a step's exit");
  assert.equal(describeStepFailure(exited(1), sourceAt(8, 3), plan(), "Cxfile"), undefined, "a place no step comes from");
});
