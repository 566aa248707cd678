/**
 * A failed solve told in the Cxfile's words. BuildKit names the program that
 * failed (the runtime's cx-run-step, cx-populate …); the source map it
 * echoes back (errdefs.Source, from the op's Cxfile lines) says which entry
 * that was, so the error can name the user's command instead. BuildKit's
 * details go back unchanged: buildx shows the Cxfile excerpt from them.
 */
import { RUNTIME_FAILURE } from "../common/exit-codes.js";
import type { ErrorDetail } from "./gateway/client.js";
import type { Pos } from "./cxfile/errors.js";
import { commandText, type BuildPlan } from "./plan/plan.js";

export class StepFailure extends Error {
  constructor(message: string, readonly details: readonly ErrorDetail[]) {
    super(message);
    this.name = "StepFailure";
  }
}

const EXIT_CODE = /did not complete successfully: exit code: (\d+)/;

type SourceDetail = { ranges?: { start?: { line?: number; character?: number } }[] };

/** Where BuildKit's source detail (JSON, as BuildKit sends details to a frontend) says the failing op comes from: its first range's start. */
function failedAt(details: readonly ErrorDetail[]): Pos | undefined {
  const source = details.find((d) => d.typeUrl.endsWith("errdefs.Source+json"));
  const start = source && (JSON.parse(Buffer.from(source.value).toString("utf8")) as SourceDetail).ranges?.[0]?.start;
  return start?.line === undefined ? undefined : { line: start.line, column: start.character ?? 0 };
}

const same = (a: Pos, b: Pos) => a.line === b.line && a.column === b.column;

/** What failed, in Cxfile terms; undefined when the error is not a step's exit that the plan can place. */
export function describeStepFailure(message: string, details: readonly ErrorDetail[], plan: BuildPlan, file: string): StepFailure | undefined {
  const pos = failedAt(details);
  const code = EXIT_CODE.exec(message)?.[1];
  if (pos === undefined || code === undefined) return undefined;
  const at = `${file}:${pos.line}: `;
  const runtime = Number(code) === RUNTIME_FAILURE;
  const run = plan.runs.find((r) => same(r.pos, pos));
  if (run) {
    const what = runtime ? "could not be run in the guest; the log above says why" : `exited with code ${code}`;
    return new StepFailure(`${at}${run.label}: ${commandText(run.argv)} ${what}`, details);
  }
  if (plan.copies.some((c) => same(c.pos, pos))) {
    return new StepFailure(`${at}copy: the files could not be placed in the guest disk; the log above says why`, details);
  }
  if (same(plan.basePos, pos)) {
    return new StepFailure(`${at}base: ${plan.baseName} could not be made the OS base; the log above says why`, details);
  }
  return undefined;
}
