import { rm, stat } from "node:fs/promises";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { AgentLink } from "../launcher/agent-link.js";
import type { VmConfig } from "../launcher/qemu-args.js";
import { consoleText, howQemuEnded, lastLine, prepareHostSide, removeSockets, startQemu } from "../launcher/qemu-process.js";
import { QmpSession } from "../launcher/qmp.js";

export interface SavedGuest {
  /** The agent's ready text. */
  readonly agentVersion: string;
  readonly bootSeconds: number;
  readonly stateBytes: number;
}

/** Waits for the agent's ready frame; rejects with the agent's or QEMU's last word if the guest fails first. */
function agentReady(socket: string, qemuEnded: Promise<string>, timeoutSeconds: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const server = createServer((sock) => {
      server.close();
      // The connection stays open: the agent must not see its launcher go before the snapshot is taken.
      const agent = new AgentLink(sock, (message) => reject(new Error(`guest agent: ${message}`)));
      agent.listen(0, (frame) => {
        if (frame.type === "R") resolve(frame.payload.toString("utf8"));
        if (frame.type === "F") reject(new Error(`guest agent: ${frame.payload.toString("utf8")}`));
      });
    });
    server.once("error", reject);
    server.listen(socket);
    void qemuEnded.then((why) => reject(new Error(why)));
    setTimeout(() => reject(new Error(`the guest's agent was not ready within ${timeoutSeconds}s`)), timeoutSeconds * 1000).unref();
  });
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
  const started = Date.now();
  const qemu = startQemu(vm, { stdin: "ignore", stdout: "ignore" });
  const ended = qemu.exited.then(async (exit) =>
    `QEMU ${howQemuEnded(exit)} before the guest was ready (${lastLine(qemu.stderr()) || lastLine(await consoleText(vm)) || "no message"})`);
  try {
    const agentVersion = await agentReady(vm.agentSocket, ended, readyTimeoutSeconds);
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
    qemu.child.kill("SIGKILL");
    await qemu.exited;
    await removeSockets(vm);
  }
}
