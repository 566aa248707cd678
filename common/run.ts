import type { Readable } from "node:stream";
import { execa, ExecaError } from "execa";

/** A command that failed, with what a person needs to see why. */
export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number | undefined,
    readonly stderr: string,
  ) {
    super(`${command} failed${exitCode === undefined ? "" : ` (exit ${exitCode})`}${stderr ? `: ${stderr.trim().split("\n").slice(-5).join("\n")}` : ""}`);
    this.name = "CommandError";
  }
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** stdin: text, bytes, or a stream (such as common/tar.ts's archives). */
  input?: string | Buffer | Readable;
  /** Prefix of the "+ command" trace line on stderr; no trace when absent. */
  trace?: string;
}

/** Runs a command to completion and returns its stdout; throws CommandError on failure. */
export async function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  const shown = [file, ...args].join(" ");
  if (opts.trace) process.stderr.write(`${opts.trace}+ ${shown}\n`);
  try {
    const result = await execa(file, args, {
      cwd: opts.cwd,
      env: opts.env,
      input: opts.input,
      stripFinalNewline: false,
      encoding: "utf8",
    });
    return result.stdout;
  } catch (err) {
    if (err instanceof ExecaError) {
      throw new CommandError(shown, err.exitCode, String(err.stderr ?? err.shortMessage));
    }
    throw err;
  }
}

export interface Captured {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command whose verdict the caller judges itself (it never throws for a non-zero exit). */
export async function runCapture(file: string, args: readonly string[], opts: RunOptions = {}): Promise<Captured> {
  const result = await execa(file, args, { cwd: opts.cwd, env: opts.env, input: opts.input, reject: false, encoding: "utf8", stripFinalNewline: false });
  if (result.failed && result.exitCode === undefined) throw new CommandError([file, ...args].join(" "), undefined, result.shortMessage ?? "");
  return { exitCode: result.exitCode ?? 1, stdout: result.stdout, stderr: result.stderr };
}
