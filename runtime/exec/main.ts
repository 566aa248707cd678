/**
 * cx-exec, also on the runtime's PATH as `guest`: `docker exec CONTAINER
 * guest CMD…` runs CMD in the running guest, with the exec's environment,
 * working directory, user and terminal, and exits with CMD's exit code.
 * `cx-exec --status` succeeds once the app has started (the image's default
 * health check).
 */
import { createConnection } from "node:net";
import { EXEC_SOCKET, stateDir } from "../../common/layout.js";
import { encodeFrame, encodeSpec, exitCodeOf, FORWARDED_SIGNALS, FRAME_TYPES, FrameDecoder, signalName } from "../agent/protocol.js";
import { RUNTIME_FAILURE } from "../../common/exit-codes.js";
import { guestProcess, rawContainerTerminal, thisProcess } from "../launcher/container-process.js";
import { relayInput } from "../agent/input-relay.js";
import { settingsFromEnv } from "../vm/settings.js";
import { hasAgent, readBaseManifest } from "../vm/config.js";

const USAGE = "usage: guest COMMAND [ARG…]     (runs COMMAND in the guest; also /cx/runtime/bin/cx-exec)\n       guest --status             (succeeds once the app runs)";

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.length === 0 || args[0] === "--help") {
    process.stderr.write(`${USAGE}\n`);
    process.exitCode = args.length ? 0 : 2;
    return;
  }
  const base = await readBaseManifest();
  if (!hasAgent(base)) {
    process.stderr.write(`cx-exec: this image's OS boots with ${base.boot?.kind} and has no Containerx agent, so nothing can be run in its guest\n`);
    process.exitCode = RUNTIME_FAILURE;
    return;
  }
  const container = thisProcess();
  const settings = settingsFromEnv(process.env);
  const sock = createConnection(`${stateDir(settings.stateDir, container.uid)}/${EXEC_SOCKET}`);
  const decoder = new FrameDecoder();
  let code: number | undefined;

  sock.on("connect", () => {
    if (args[0] === "--status") {
      sock.write(encodeFrame(FRAME_TYPES.status, 0));
      return;
    }
    const spec = guestProcess(args, container, settings.user);
    sock.write(encodeSpec(spec));
    if (spec.tty) rawContainerTerminal();
    relayInput((type, payload) => sock.write(encodeFrame(type, 0, payload)), process.stdin, spec.tty ? process.stdout : undefined);
    for (const s of FORWARDED_SIGNALS) process.on(s, () => sock.write(encodeFrame(FRAME_TYPES.signal, 0, signalName(s))));
  });
  sock.on("data", (chunk: Buffer) => {
    for (const frame of decoder.push(chunk)) {
      if (frame.type === FRAME_TYPES.stdout) process.stdout.write(frame.payload);
      else if (frame.type === FRAME_TYPES.stderr) process.stderr.write(frame.payload);
      else if (frame.type === FRAME_TYPES.exit) code = exitCodeOf(frame.payload.toString("utf8"));
    }
  });
  sock.on("error", (err: NodeJS.ErrnoException) => {
    const why = err.code === "ENOENT" || err.code === "ECONNREFUSED" ? "the container's guest is not running" : err.message;
    process.stderr.write(`cx-exec: ${why}\n`);
    code = RUNTIME_FAILURE;
  });
  sock.on("close", () => {
    process.exitCode = code ?? RUNTIME_FAILURE;
    if (code === undefined) process.stderr.write("cx-exec: the guest ended the session without an exit code\n");
    process.stdin.destroy();
    process.exit();
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`cx-exec: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = RUNTIME_FAILURE;
});
