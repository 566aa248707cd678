/**
 * The launcher's side of the cx-agent protocol (see guest-agent/agent.c):
 * frames of 1 type byte, 4-byte big-endian length, payload.
 */
export type FrameType = "R" | "O" | "E" | "X" | "F" | "S";

export interface Frame {
  readonly type: FrameType;
  readonly payload: Buffer;
}

export function encodeFrame(type: FrameType, payload: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, "latin1");
  header.writeUInt32BE(payload.length, 1);
  return Buffer.concat([header, payload]);
}

/** Splits a byte stream into frames, however the stream was chunked. */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const frames: Frame[] = [];
    while (this.pending.length >= 5) {
      const len = this.pending.readUInt32BE(1);
      if (this.pending.length < 5 + len) break;
      const type = String.fromCharCode(this.pending[0]);
      if (!"ROEXFS".includes(type)) throw new Error(`unknown frame type 0x${this.pending[0].toString(16)} from the guest agent`);
      frames.push({ type: type as FrameType, payload: this.pending.subarray(5, 5 + len) });
      this.pending = this.pending.subarray(5 + len);
    }
    return frames;
  }
}

/** What the agent runs: the app's argv, environment and working directory. */
export interface AppSpec {
  readonly argv: readonly string[];
  readonly env: readonly string[];
  readonly cwd: string;
  readonly hostname?: string;
  /** user[:group] in the guest; root when absent. */
  readonly user?: string;
  /** Wall clock to set in the guest, in nanoseconds since the epoch. */
  readonly clockNs?: bigint;
}

export function encodeSpec(spec: AppSpec): Buffer {
  const tokens: string[] = [];
  for (const a of spec.argv) tokens.push(`A${a}`);
  for (const e of spec.env) tokens.push(`V${e}`);
  tokens.push(`C${spec.cwd}`);
  if (spec.hostname) tokens.push(`H${spec.hostname}`);
  if (spec.user) tokens.push(`U${spec.user}`);
  if (spec.clockNs !== undefined) tokens.push(`T${spec.clockNs}`);
  for (const t of tokens) {
    if (t.includes("\0")) throw new Error(`NUL byte in app spec value ${JSON.stringify(t.slice(1))}`);
  }
  return encodeFrame("S", Buffer.from(tokens.map((t) => `${t}\0`).join(""), "utf8"));
}

/** How the app ended, from an 'X' frame, as a container exit code. */
export function exitCodeOf(report: string): number {
  const m = /^(exit|signal) (\d+)$/.exec(report);
  if (!m) throw new Error(`malformed exit report from the guest agent: ${JSON.stringify(report)}`);
  const n = Number(m[2]);
  return m[1] === "exit" ? n : 128 + n;
}
