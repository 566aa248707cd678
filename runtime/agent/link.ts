import type { Socket } from "node:net";
import { encodeFrame, FrameDecoder, type Frame, type FrameType } from "./protocol.js";

/**
 * The launcher's end of the agent's port: frames out, frames in, each
 * delivered to whoever owns its channel (the app session or one cx-exec).
 */
export class AgentLink {
  private readonly decoder = new FrameDecoder();
  private readonly handlers = new Map<number, (frame: Frame) => void>();
  private nextChannel = 1;

  constructor(private readonly sock: Socket, onProtocolError: (message: string) => void) {
    sock.on("data", (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = this.decoder.push(chunk);
      } catch (err) {
        onProtocolError((err as Error).message);
        return;
      }
      for (const frame of frames) this.handlers.get(frame.channel)?.(frame);
    });
    sock.on("error", () => undefined);
  }

  send(type: FrameType, channel: number, payload?: Buffer | string): void {
    if (!this.sock.destroyed) this.sock.write(encodeFrame(type, channel, payload));
  }

  /** Sends an already encoded frame (a spec). */
  write(frame: Buffer): void {
    if (!this.sock.destroyed) this.sock.write(frame);
  }

  listen(channel: number, handler: (frame: Frame) => void): void {
    this.handlers.set(channel, handler);
  }

  /** A fresh channel for an exec session. */
  open(handler: (frame: Frame) => void): number {
    const channel = this.nextChannel++;
    this.handlers.set(channel, handler);
    return channel;
  }

  close(channel: number): void {
    this.handlers.delete(channel);
  }
}
