import type { ChildProcess } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import type { AgentLink } from "../agent/link.js";
import { relayInput } from "../agent/input-relay.js";
import { listenForAgent } from "../agent/port.js";
import { exitCodeOf, FORWARDED_SIGNALS, FRAME_TYPES, guestStepsOf, signalName, specFrameFor, type AppSpec, type GuestStep } from "../agent/protocol.js";
import type { VmConfig } from "./config.js";
import { resumeMachine } from "./migration.js";
import { QmpSession } from "./qmp.js";
import { consoleText, howQemuEnded, lastLine, qemuMessage, prepareHostSide, removeSockets, startQemu } from "./qemu-process.js";
import { startPasst } from "./network.js";
import { startShareDaemons } from "./virtiofsd.js";
import { watchDiskFull } from "./disk-full.js";

export type SessionOutcome =
  | { readonly kind: "exited"; readonly code: number }
  | { readonly kind: "agent-failed"; readonly message: string }
  | { readonly kind: "not-ready"; readonly seconds: number }
  | { readonly kind: "stopped"; readonly signal: NodeJS.Signals }
  | { readonly kind: "guest-died"; readonly reason: string }
  /** The guest's disk could not be written for want of space on the disk holding it (disk-full.ts). */
  | { readonly kind: "disk-full"; readonly reason: string }
  /** QEMU ended while resuming a snapshot, before the guest said anything: a cold boot may still work. */
  | { readonly kind: "resume-failed"; readonly reason: string };

/** A session that ended without the app's own exit report. */
export type SessionFailure = Extract<SessionOutcome, { kind: "agent-failed" | "not-ready" | "guest-died" | "disk-full" | "resume-failed" }>;

/** One line on why the guest failed, the same for `docker run` and build steps. */
export function failureReason(failure: SessionFailure): string {
  switch (failure.kind) {
    case "agent-failed":
      return `guest agent: ${failure.message}`;
    case "not-ready":
      return `the guest did not start within ${failure.seconds}s`;
    case "guest-died":
    case "disk-full":
      return failure.reason;
    case "resume-failed":
      return `resuming the snapshot failed: ${failure.reason}`;
  }
}

export interface SessionIo {
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** The app's stdin; it sees end of input at once when absent. */
  readonly stdin?: Readable;
  /** With a terminal app: where size changes come from ('resize' events, rows, columns). */
  readonly terminal?: NodeJS.WriteStream;
}

export interface SessionOptions {
  /** Give up (and report not-ready) if the agent has not said ready by then. */
  readonly readyTimeoutSeconds?: number;
  /** Called once the app has started: cx-exec sessions go through this link. */
  readonly onAppStarted?: (link: AgentLink) => void;
  /** Told how long each step of the app's start took in the guest (CX_LOG=debug's timing line). */
  readonly guestSteps?: (steps: readonly GuestStep[]) => void;
  /**
   * The agent's version (its ready frame's text) when the VM resumes a
   * snapshot (vm.snapshot): that agent said ready before the snapshot, so it
   * gets the spec as soon as it is connected.
   */
  readonly resumedAgent?: string;
  /** Told when the start passes each milestone (CX_LOG=debug's timing line). */
  readonly milestone?: (event: StartMilestone) => void;
}

/**
 * QEMU started; the guest runs (resumed) or its agent is ready (booted); the
 * spec is sent; the app runs (the agent replies once it has exec'd it); the
 * app's first output.
 */
export type StartMilestone = "qemu-spawned" | "guest-running" | "agent-ready" | "spec-sent" | "app-started" | "first-output";

/**
 * Boots one VM, hands the agent the app spec, relays the app's stdio and the
 * container's signals, and reports how the app ended. The QEMU process lives
 * exactly as long as this call.
 */
export async function runGuest(vm: VmConfig, spec: AppSpec, io: SessionIo, opts: SessionOptions = {}): Promise<SessionOutcome> {
  const agentSocket = vm.agentSocket;
  if (!agentSocket) throw new Error("this guest has no Containerx agent to run the app");
  const resuming = vm.snapshot?.mode === "resume";
  // Before the volumes' daemons, so a passt that cannot start leaves nothing behind.
  const passt = vm.network === "passt" ? await startPasst(vm.ports) : undefined;
  const daemons = await startShareDaemons(vm.shares);
  await prepareHostSide(vm);

  let outcome: SessionOutcome | undefined;
  let ready = false;
  let link: AgentLink | undefined;
  let appStarted = false;
  let heard = false;
  let output = false;
  const cleanups: (() => void)[] = [];
  const settle = (o: SessionOutcome) => {
    outcome ??= o;
  };
  let qemu: ChildProcess | undefined;
  const server = await listenForAgent(agentSocket, {
    ready(agent, version) {
      link = agent;
      ready = true;
      if (!resuming) opts.milestone?.("agent-ready");
      agent.write(specFrameFor(version, spec));
      opts.milestone?.("spec-sent");
      cleanups.push(relayInput((type, payload) => agent.send(type, 0, payload), io.stdin, spec.tty ? io.terminal : undefined));
    },
    frame(frame, agent) {
      if (!output && (frame.type === FRAME_TYPES.stdout || frame.type === FRAME_TYPES.stderr)) {
        output = true;
        opts.milestone?.("first-output");
      }
      heard = true;
      switch (frame.type) {
        case FRAME_TYPES.started:
          if (!appStarted) {
            opts.milestone?.("app-started");
            opts.guestSteps?.(guestStepsOf(frame.payload.toString("utf8")));
          }
          appStarted = true;
          opts.onAppStarted?.(agent);
          break;
        case FRAME_TYPES.stdout:
          io.stdout.write(frame.payload);
          break;
        case FRAME_TYPES.stderr:
          io.stderr.write(frame.payload);
          break;
        case FRAME_TYPES.exit:
          settle({ kind: "exited", code: exitCodeOf(frame.payload.toString("utf8")) });
          break;
        case FRAME_TYPES.fatal:
          settle({ kind: "agent-failed", message: frame.payload.toString("utf8") });
          break;
      }
    },
    protocolError(message) {
      settle({ kind: "agent-failed", message });
      qemu?.kill("SIGKILL");
    },
  }, resuming ? opts.resumedAgent ?? "" : undefined).catch((err: unknown) => {
    passt?.qemuEnd.destroy();
    daemons.stop();
    throw err;
  });

  const started = startQemu(vm, { stdin: "ignore", stdout: vm.console === "stderr" ? 2 : "ignore" }, false, passt);
  qemu = started.child;
  opts.milestone?.("qemu-spawned");
  let resumeError: string | undefined;
  // Held for the whole session: the disk-full event comes on it, and a resumed guest is started through it.
  const qmpSession = QmpSession.connectWhenUp(vm.qmpSocket, started.exited);
  void (async () => {
    const qmp = await qmpSession;
    watchDiskFull(qmp, vm.disk, (reason) => {
      settle({ kind: "disk-full", reason });
      qemu?.kill("SIGKILL");
    });
    if (resuming) {
      await resumeMachine(qmp, vm.snapshot!.state, !vm.gdb?.wait);
      opts.milestone?.("guest-running");
    }
  })().catch((err: Error) => {
    if (!resuming) return;
    resumeError = err.message;
    qemu?.kill("SIGKILL");
  });

  // Once the app runs, signals go to it, as Docker's go to a container's
  // main process; before that there is nothing to stop but the VM itself.
  const onSignal = (signal: NodeJS.Signals) => {
    if (link && appStarted) {
      link.send(FRAME_TYPES.signal, 0, signalName(signal));
      return;
    }
    settle({ kind: "stopped", signal });
    qemu?.kill("SIGTERM");
  };
  for (const s of FORWARDED_SIGNALS) process.on(s, onSignal);
  const timer = opts.readyTimeoutSeconds
    ? setTimeout(() => {
        if (!ready) {
          settle({ kind: "not-ready", seconds: opts.readyTimeoutSeconds! });
          qemu?.kill("SIGKILL");
        }
      }, opts.readyTimeoutSeconds * 1000)
    : undefined;

  const exit = await started.exited;
  clearTimeout(timer);
  daemons.stop();
  for (const s of FORWARDED_SIGNALS) process.off(s, onSignal);
  for (const cleanup of cleanups) cleanup();
  server.close();
  void qmpSession.then((qmp) => qmp.close(), () => undefined);
  await removeSockets(vm);

  if (outcome) return outcome;
  if (exit.error) return { kind: "guest-died", reason: `cannot start ${started.binary}: ${exit.error.message}` };
  if (resuming && !heard) {
    return { kind: "resume-failed", reason: `QEMU ${howQemuEnded(exit)} (${qemuMessage(started.stderr()) || resumeError || "no message"})` };
  }
  const guestSaid = await consoleText(vm);
  const panic = /Kernel panic - not syncing: (.*)/.exec(guestSaid);
  if (panic) return { kind: "guest-died", reason: `the guest kernel panicked: ${panic[1].trim()}` };
  const qemuSays = qemuMessage(started.stderr());
  const console = lastLine(guestSaid);
  const detail = qemuSays || (console ? `last console line: ${console}` : "no message");
  return { kind: "guest-died", reason: `QEMU ${howQemuEnded(exit)} before the app finished (${detail})` };
}
