import type { Readable } from "node:stream";
import { FRAME_TYPES } from "./protocol.js";

/** Sends one input frame to a guest process: stdin bytes (empty = end of input) or a terminal size. */
export type SendInput = (type: typeof FRAME_TYPES.stdin | typeof FRAME_TYPES.resize, payload?: Buffer | string) => void;

/**
 * Relays what a container process receives to a guest process: stdin as it
 * arrives (end of input at once when there is none) and, with a terminal,
 * its size changes. The app (cx-launch) and cx-exec sessions share this.
 * Returns a function that stops relaying.
 */
export function relayInput(send: SendInput, stdin: Readable | undefined, terminal?: NodeJS.WriteStream): () => void {
  if (!stdin) send(FRAME_TYPES.stdin);
  const onData = (chunk: Buffer) => send(FRAME_TYPES.stdin, chunk);
  const onEnd = () => send(FRAME_TYPES.stdin);
  const onResize = () => terminal && send(FRAME_TYPES.resize, `${terminal.rows} ${terminal.columns}`);
  stdin?.on("data", onData);
  stdin?.once("end", onEnd);
  terminal?.on("resize", onResize);
  return () => {
    stdin?.off("data", onData);
    stdin?.off("end", onEnd);
    stdin?.pause();
    terminal?.off("resize", onResize);
  };
}
