import { spawn } from "node:child_process";
import { readFile, rm } from "node:fs/promises";
import { createServer, type Socket } from "node:net";
import type { Writable } from "node:stream";
import { encodeSpec, exitCodeOf, FrameDecoder, type AppSpec } from "./agent-protocol.js";
import { buildQemuArgs, type VmConfig } from "./qemu-args.js";

export type SessionOutcome =
  | { readonly kind: "exited"; readonly code: number }
  | { readonly kind: "agent-failed"; readonly message: string }
  | { readonly kind: "not-ready"; readonly seconds: number }
  | { readonly kind: "stopped"; readonly signal: NodeJS.Signals }
  | { readonly kind: "guest-died"; readonly reason: string };

/** A session that ended without the app's own exit report. */
export type SessionFailure = Extract<SessionOutcome, { kind: "agent-failed" | "not-ready" | "guest-died" }>;

/** One line on why the guest failed, the same for `docker run` and build steps. */
export function failureReason(failure: SessionFailure): string {
  switch (failure.kind) {
    case "agent-failed":
      return `guest agent: ${failure.message}`;
    case "not-ready":
      return `the guest did not start within ${failure.seconds}s`;
    case "guest-died":
      return failure.reason;
  }
}

export interface SessionIo {
  readonly stdout: Writable;
  readonly stderr: Writable;
}

export interface SessionOptions {
  /** Give up (and report not-ready) if the agent has not said ready by then. */
  readonly readyTimeoutSeconds?: number;
}

const lastLine = (text: string) => text.trim().split("\n").filter(Boolean).pop() ?? "";

/**
 * Boots one VM, hands the agent the app spec, streams the app's output and
 * reports how it ended. The QEMU process lives exactly as long as this call.
 */
export async function runGuest(vm: VmConfig, spec: AppSpec, io: SessionIo, opts: SessionOptions = {}): Promise<SessionOutcome> {
  await rm(vm.agentSocket, { force: true });
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(vm.agentSocket, resolve);
  });

  const { binary, args } = buildQemuArgs(vm);
  const qemu = spawn(binary, args, { stdio: ["ignore", vm.console === "stderr" ? 2 : "ignore", "pipe"] });
  let qemuStderr = "";
  qemu.stderr!.on("data", (chunk: Buffer) => {
    qemuStderr += chunk.toString("utf8");
  });

  let outcome: SessionOutcome | undefined;
  let ready = false;
  const settle = (o: SessionOutcome) => {
    outcome ??= o;
  };

  server.on("connection", (sock: Socket) => {
    server.close();
    const decoder = new FrameDecoder();
    sock.on("data", (chunk: Buffer) => {
      let frames;
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        settle({ kind: "agent-failed", message: (err as Error).message });
        qemu.kill("SIGKILL");
        return;
      }
      for (const frame of frames) {
        switch (frame.type) {
          case "R":
            ready = true;
            sock.write(encodeSpec(spec));
            break;
          case "O":
            io.stdout.write(frame.payload);
            break;
          case "E":
            io.stderr.write(frame.payload);
            break;
          case "X":
            settle({ kind: "exited", code: exitCodeOf(frame.payload.toString("utf8")) });
            break;
          case "F":
            settle({ kind: "agent-failed", message: frame.payload.toString("utf8") });
            break;
        }
      }
    });
    sock.on("error", () => undefined);
  });

  const onSignal = (signal: NodeJS.Signals) => {
    settle({ kind: "stopped", signal });
    qemu.kill("SIGTERM");
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  const timer = opts.readyTimeoutSeconds
    ? setTimeout(() => {
        if (!ready) {
          settle({ kind: "not-ready", seconds: opts.readyTimeoutSeconds! });
          qemu.kill("SIGKILL");
        }
      }, opts.readyTimeoutSeconds * 1000)
    : undefined;

  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    qemu.once("error", (error) => resolve({ code: null, signal: null, error }));
    qemu.once("close", (code, signal) => resolve({ code, signal }));
  });
  clearTimeout(timer);
  process.off("SIGTERM", onSignal);
  process.off("SIGINT", onSignal);
  server.close();
  await rm(vm.agentSocket, { force: true });

  if (outcome) return outcome;
  if (exit.error) return { kind: "guest-died", reason: `cannot start ${binary}: ${exit.error.message}` };
  const qemuSays = lastLine(qemuStderr);
  const console = vm.console === "stderr" ? "" : lastLine(await readFile(vm.console.file, "utf8").catch(() => ""));
  const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
  const detail = qemuSays || (console ? `last console line: ${console}` : "no message");
  return { kind: "guest-died", reason: `QEMU ${how} before the app finished (${detail})` };
}
