/**
 * A failed solve told in the Cxfile's words. BuildKit names the program that
 * failed (the runtime's cx-run-step, cx-populate …); the source map it
 * echoes back (errdefs.Source, from the op's Cxfile lines) says which entry
 * that was, so the error can name the user's command instead. BuildKit's
 * details go back unchanged: buildx shows the Cxfile excerpt from them.
 */
import { RUNTIME_FAILURE } from "../common/exit-codes.js";
import type { ErrorDetail } from "./gateway/client.js";
import type { BuildPlan } from "./plan/plan.js";
import { pb } from "./protos.js";

export class StepFailure extends Error {
  constructor(message: string, readonly details: readonly ErrorDetail[]) {
    super(message);
    this.name = "StepFailure";
  }
}

const EXIT_CODE = /did not complete successfully: exit code: (\d+)/;

type SourceDetail = { ranges?: { start?: { line?: number } }[] };

/**
 * The first Cxfile line BuildKit's source detail points at. BuildKit sends
 * its details to a frontend as JSON (type URL ending "+json"); protobuf is
 * what a frontend sends itself.
 */
function failedLine(details: readonly ErrorDetail[]): number | undefined {
  for (const d of details) {
    if (d.typeUrl.endsWith("errdefs.Source+json")) return (JSON.parse(Buffer.from(d.value).toString("utf8")) as SourceDetail).ranges?.[0]?.start?.line;
    if (d.typeUrl.endsWith("errdefs.Source")) return (pb.ErrorSource.toObject(pb.ErrorSource.decode(d.value)) as SourceDetail).ranges?.[0]?.start?.line;
  }
  return undefined;
}

function commandText(argv: readonly string[]): string {
  return argv.length === 3 && argv[0] === "/bin/sh" && argv[1] === "-c" ? argv[2].trim() : argv.join(" ");
}

/** What failed, in Cxfile terms; undefined when the error is not a step's exit that the plan can place. */
export function describeStepFailure(message: string, details: readonly ErrorDetail[], plan: BuildPlan, file: string): StepFailure | undefined {
  const line = failedLine(details);
  const code = EXIT_CODE.exec(message)?.[1];
  if (line === undefined || code === undefined) return undefined;
  const at = `${file}:${line}: `;
  const runtime = Number(code) === RUNTIME_FAILURE;
  const run = plan.runs.find((r) => r.pos.line === line);
  if (run) {
    const what = runtime ? "could not be run in the guest; the log above says why" : `exited with code ${code}`;
    return new StepFailure(`${at}${run.label}: ${commandText(run.argv)} ${what}`, details);
  }
  if (plan.copies.some((c) => c.pos.line === line)) {
    return new StepFailure(`${at}copy: the files could not be placed in the guest disk; the log above says why`, details);
  }
  if (plan.basePos.line === line) {
    return new StepFailure(`${at}base: ${plan.baseName} could not be made the OS base; the log above says why`, details);
  }
  return undefined;
}
