/**
 * Fuzzing the parser and planner with generated malformed Cxfiles: each one
 * must end in a CxfileError that names a position, never another exception.
 * Deterministic (seeded), so a failure reproduces.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { CxfileError } from "../../frontend/cxfile/errors.js";
import { parseCxfile } from "../../frontend/cxfile/parse.js";
import { planBuild } from "../../frontend/plan/plan.js";
import { CASES, fuzzCases } from "./cxfile-cases.js";

const planOpts = { hostPlatforms: [{ os: "linux", architecture: "amd64" }], buildPlatform: { os: "linux", architecture: "amd64" }, imagePrefix: "containerx/", runtimeTag: "latest" };

test(`${CASES} malformed Cxfiles each give a positioned CxfileError or a valid plan, never an exception`, () => {
  const outcomes = { rejected: 0, accepted: 0 };
  let n = 0;
  for (const text of fuzzCases()) {
    n++;
    try {
      planBuild(parseCxfile(text, "Cxfile"), planOpts);
      outcomes.accepted++;
    } catch (err) {
      if (!(err instanceof CxfileError)) assert.fail(`case ${n} threw ${String(err)}\n--- Cxfile ---\n${text.slice(0, 2000)}`);
      if (!err.pos && !/the Cxfile is \d+ bytes/.test(err.message)) assert.fail(`case ${n}: no position in "${err.message}"\n--- Cxfile ---\n${text.slice(0, 2000)}`);
      assert.ok(err.message.length < 2000, `case ${n}: the message is readable, not a dump`);
      outcomes.rejected++;
    }
  }
  assert.ok(outcomes.rejected > CASES / 2, `most mutations are errors (${JSON.stringify(outcomes)})`);
});
