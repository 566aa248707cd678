/**
 * What the launcher says on the container's stderr, which `docker logs` shows
 * as the app's: by default only what deviates from what the user asked for
 * (a snapshot not resumed and why, a KVM fallback, a volume not shared, a
 * guest smaller than asked) and errors that end the container. CX_LOG=info
 * adds what it does (the accelerator, the resume, the volumes), CX_LOG=debug
 * the guest's serial console too.
 */
export const LOG_LEVELS = ["quiet", "info", "debug"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Notes {
  /** Always said: the container ends because of it. */
  error(msg: string): void;
  /** Always said: the container runs, but not quite as asked. */
  deviation(msg: string): void;
  /** Always said: the container waits for the user to act (a guest stopped for its debugger). */
  waiting(msg: string): void;
  /** Said with CX_LOG=info or debug. */
  info(msg: string): void;
}

export function notesFor(level: LogLevel, write: (line: string) => void = (line) => process.stderr.write(line)): Notes {
  const say = (msg: string) => write(`containerx: ${msg}\n`);
  return { error: say, deviation: say, waiting: say, info: level === "quiet" ? () => {} : say };
}
