import type { Readable } from "node:stream";

/** Sends one input frame to a guest process: stdin bytes ('I', empty = end of input) or a terminal size ('W'). */
export type SendInput = (type: "I" | "W", payload?: Buffer | string) => void;

/**
 * Relays what a container process receives to a guest process: stdin as it
 * arrives (end of input at once when there is none) and, with a terminal,
 * its size changes. The app (cx-launch) and cx-exec sessions share this.
 * Returns a function that stops relaying.
 */
export function relayInput(send: SendInput, stdin: Readable | undefined, terminal?: NodeJS.WriteStream): () => void {
  if (!stdin) send("I");
  const onData = (chunk: Buffer) => send("I", chunk);
  const onEnd = () => send("I");
  const onResize = () => terminal && send("W", `${terminal.rows} ${terminal.columns}`);
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
