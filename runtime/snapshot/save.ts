import { rm, stat } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { listenForAgent } from "../agent/port.js";
import { FRAME_TYPES } from "../agent/protocol.js";
import type { VmConfig } from "../vm/config.js";
import { consoleText, howQemuEnded, lastLine, prepareHostSide, removeSockets, startQemu } from "../vm/qemu-process.js";
import { QmpSession } from "../vm/qmp.js";

export interface SavedGuest {
  /** The agent's ready text. */
  readonly agentVersion: string;
  readonly bootSeconds: number;
  readonly stateBytes: number;
}

/**
 * Boots `vm` until its agent is ready for the app, then writes the machine's
 * whole state to `statePath` (QEMU's migration to a file, which ends with
 * the machine stopped and its disk flushed). QEMU is quit afterwards.
 */
export async function saveReadyGuest(vm: VmConfig, statePath: string, readyTimeoutSeconds: number): Promise<SavedGuest> {
  if (!vm.agentSocket) throw new Error("only a guest with the Containerx agent can be snapshotted");
  await prepareHostSide(vm);
  await rm(statePath, { force: true });
  let ready!: (version: string) => void;
  let fail!: (err: Error) => void;
  const agentReady = new Promise<string>((resolve, reject) => [ready, fail] = [resolve, reject]);
  // The connection stays open: the agent must not see its launcher go before the snapshot is taken.
  const server = await listenForAgent(vm.agentSocket, {
    ready: (_link, version) => ready(version),
    frame: (frame) => {
      if (frame.type === FRAME_TYPES.fatal) fail(new Error(`guest agent: ${frame.payload.toString("utf8")}`));
    },
    protocolError: (message) => fail(new Error(`guest agent: ${message}`)),
  });
  const started = Date.now();
  const qemu = startQemu(vm, { stdin: "ignore", stdout: "ignore" });
  void qemu.exited.then(async (exit) => fail(new Error(
    `QEMU ${howQemuEnded(exit)} before the guest was ready (${lastLine(qemu.stderr()) || lastLine(await consoleText(vm)) || "no message"})`)));
  const timer = setTimeout(() => fail(new Error(`the guest's agent was not ready within ${readyTimeoutSeconds}s`)), readyTimeoutSeconds * 1000);
  try {
    const agentVersion = await agentReady;
    const bootSeconds = (Date.now() - started) / 1000;
    const qmp = await QmpSession.connect(vm.qmpSocket);
    // Migrated while running (the idle guest converges at once), the stream
    // records a running machine, which QEMU starts as soon as it has loaded
    // it; a machine stopped first would load paused and wait for a `cont`.
    await qmp.execute("migrate", { uri: `file:${statePath}` });
    for (;;) {
      const { status, "error-desc": error } = await qmp.execute<{ status?: string; "error-desc"?: string }>("query-migrate");
      if (status === "completed") break;
      if (status === "failed" || status === "cancelled") throw new Error(`QEMU could not save the machine: ${error ?? status}`);
      await sleep(20);
    }
    await qmp.execute("quit").catch(() => undefined);
    qmp.close();
    return { agentVersion, bootSeconds, stateBytes: (await stat(statePath)).size };
  } finally {
    clearTimeout(timer);
    server.close();
    qemu.child.kill("SIGKILL");
    await qemu.exited;
    await removeSockets(vm);
  }
}
