import { CommandError } from "../common/run.js";

/**
 * A failed make of a kernel or busybox, with the reason: make's own "Error 2"
 * lines come last, the compiler's or linker's complaint earlier, interleaved
 * with the output of parallel jobs.
 */
export function makeFailure(err: unknown, what: string): Error {
  if (!(err instanceof CommandError)) return err instanceof Error ? err : new Error(String(err));
  const reasons = err.stderr.split("\n")
    .filter((l) => /error|not supported|not found|no such file|undefined reference/i.test(l) && !/^make(\[\d+\])?: \*\*\*/.test(l));
  return new Error(`${what} failed:\n${(reasons.length ? reasons : err.stderr.trim().split("\n")).slice(-12).join("\n")}`);
}
