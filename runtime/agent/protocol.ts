/**
 * The cx-agent protocol (see guest-agent/agent.c): frames of 1 type byte,
 * 4-byte big-endian channel, 4-byte big-endian length, payload. Channel 0 is
 * the app; cx-exec sessions get their own. cx-exec talks to the launcher in
 * the same frames, on channel 0 of its own socket.
 */
export const FRAME_TYPES = {
  /** agent → launcher */
  ready: "R", started: "P", stdout: "O", stderr: "E", exit: "X", fatal: "F",
  /** launcher → agent */
  spec: "S", stdin: "I", signal: "K", resize: "W",
  /** cx-exec → launcher: is the app running? */
  status: "Q",
} as const;

export type FrameType = (typeof FRAME_TYPES)[keyof typeof FRAME_TYPES];

/** The spec frame's NUL-terminated tokens, by the byte each starts with. */
export const SPEC_TOKENS = {
  argv: "A", env: "V", cwd: "C", hostname: "H", user: "U", tty: "Y", mount: "M", clock: "T", seed: "G",
} as const;

/**
 * The kernel command line parameter (to the agent, an environment variable)
 * that has it wake every so many milliseconds: see guest-agent/protocol.h.
 */
export const TICK_PARAM = "cx_tick_ms";

/** The agent's ready text, and the version from which it takes each newer token. */
export const AGENT_VERSION = "cx-agent 3";
export const AGENT_FEATURES = { seed: 3 } as const;

const KNOWN = new Set<string>(Object.values(FRAME_TYPES));
/** Type byte, channel and length (guest-agent/protocol.h CX_FRAME_HEADER). */
export const FRAME_HEADER_BYTES = 9;
const HEADER = FRAME_HEADER_BYTES;
/** The agent refuses larger frames; so does the launcher. */
export const MAX_FRAME = 16 << 20;

export interface Frame {
  readonly type: FrameType;
  readonly channel: number;
  readonly payload: Buffer;
}

export function encodeFrame(type: FrameType, channel: number, payload: Buffer | string = Buffer.alloc(0)): Buffer {
  const body = typeof payload === "string" ? Buffer.from(payload, "utf8") : payload;
  const header = Buffer.alloc(HEADER);
  header.write(type, 0, "latin1");
  header.writeUInt32BE(channel, 1);
  header.writeUInt32BE(body.length, 5);
  return Buffer.concat([header, body]);
}

/** Splits a byte stream into frames, however the stream was chunked. */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const frames: Frame[] = [];
    while (this.pending.length >= HEADER) {
      const type = String.fromCharCode(this.pending[0]);
      if (!KNOWN.has(type)) throw new Error(`unknown frame type 0x${this.pending[0].toString(16)}`);
      const len = this.pending.readUInt32BE(5);
      if (len > MAX_FRAME) throw new Error(`frame of ${len} bytes exceeds the ${MAX_FRAME}-byte limit`);
      if (this.pending.length < HEADER + len) break;
      frames.push({ type: type as FrameType, channel: this.pending.readUInt32BE(1), payload: this.pending.subarray(HEADER, HEADER + len) });
      this.pending = this.pending.subarray(HEADER + len);
    }
    return frames;
  }
}

/** A host folder QEMU shares with the guest, mounted at the same path there. */
export interface SharedFolder {
  readonly fstype: "9p" | "virtiofs";
  readonly tag: string;
  readonly guestPath: string;
}

export interface TerminalSize {
  readonly rows: number;
  readonly cols: number;
}

/** What the agent runs: argv, environment and working directory of the app or of an exec. */
export interface ProcessSpec {
  readonly argv: readonly string[];
  readonly env: readonly string[];
  readonly cwd: string;
  /** user[:group] in the guest; root when absent. */
  readonly user?: string;
  /** Run on a terminal of this size, as `docker run -t` does. */
  readonly tty?: TerminalSize;
}

/** The app: a process plus what the guest is set up with before it starts. */
export interface AppSpec extends ProcessSpec {
  readonly hostname?: string;
  /** Wall clock to set in the guest, in nanoseconds since the epoch. */
  readonly clockNs?: bigint;
  readonly mounts?: readonly SharedFolder[];
  /** Random bytes (hex) the guest kernel reseeds from: resumed guests would otherwise share their random state. */
  readonly seed?: string;
}

/** Whether an agent, by its ready frame's text ("cx-agent N"), knows the seed token. */
export function agentTakesSeed(readyText: string): boolean {
  const m = /^cx-agent (\d+)$/.exec(readyText);
  return m !== null && Number(m[1]) >= AGENT_FEATURES.seed;
}

export function encodeSpec(spec: AppSpec, channel = 0): Buffer {
  const T = SPEC_TOKENS;
  const tokens: string[] = [];
  for (const a of spec.argv) tokens.push(`${T.argv}${a}`);
  for (const e of spec.env) tokens.push(`${T.env}${e}`);
  tokens.push(`${T.cwd}${spec.cwd}`);
  if (spec.hostname) tokens.push(`${T.hostname}${spec.hostname}`);
  if (spec.user) tokens.push(`${T.user}${spec.user}`);
  if (spec.tty) tokens.push(`${T.tty}${spec.tty.rows} ${spec.tty.cols}`);
  for (const m of spec.mounts ?? []) tokens.push(`${T.mount}${m.fstype}:${m.tag}:${m.guestPath}`);
  if (spec.clockNs !== undefined) tokens.push(`${T.clock}${spec.clockNs}`);
  if (spec.seed !== undefined) tokens.push(`${T.seed}${spec.seed}`);
  for (const t of tokens) {
    if (t.includes("\0")) throw new Error(`NUL byte in app spec value ${JSON.stringify(t.slice(1))}`);
  }
  return encodeFrame(FRAME_TYPES.spec, channel, Buffer.from(tokens.map((t) => `${t}\0`).join(""), "utf8"));
}

/** The spec frame as an agent of this version (its ready text) takes it: no seed for one that predates it. */
export function specFrameFor(readyText: string, spec: AppSpec): Buffer {
  const { seed, ...rest } = spec;
  return encodeSpec(seed !== undefined && agentTakesSeed(readyText) ? spec : rest);
}

/** A step of a command's start in the guest and how long it took there (guest-agent/protocol.h CX_FRAME_STARTED). */
export interface GuestStep {
  readonly step: string;
  readonly micros: number;
}

/**
 * The steps a started frame's payload ("PID STEP=µs …") reports; none from
 * an agent that sends only the PID.
 */
export function guestStepsOf(payload: string): GuestStep[] {
  const steps: GuestStep[] = [];
  for (const word of payload.split(" ").slice(1)) {
    const m = /^([a-z]+)=(\d+)$/.exec(word);
    if (m) steps.push({ step: m[1], micros: Number(m[2]) });
  }
  return steps;
}

/** How a process ended, from an exit frame, as a container exit code. */
export function exitCodeOf(report: string): number {
  const m = /^(exit|signal) (\d+)$/.exec(report);
  if (!m) throw new Error(`malformed exit report from the guest agent: ${JSON.stringify(report)}`);
  const n = Number(m[2]);
  return m[1] === "exit" ? n : 128 + n;
}

/** Signals the agent delivers, by name: their numbers differ between guest arches. */
export const FORWARDED_SIGNALS = ["SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGPWR", "SIGALRM", "SIGCONT"] as const;

/** The signal frame's payload: the signal's name without SIG. */
export const signalName = (signal: NodeJS.Signals | string): string => signal.replace(/^SIG/, "");
