import { rm, stat } from "node:fs/promises";
import { listenForAgent } from "../agent/port.js";
import { FRAME_TYPES } from "../agent/protocol.js";
import type { VmConfig } from "../vm/config.js";
import { consoleText, howQemuEnded, lastLine, qemuMessage, prepareHostSide, removeSockets, startQemu } from "../vm/qemu-process.js";
import { saveMachine } from "../vm/migration.js";
import { QmpSession } from "../vm/qmp.js";
import type { WarmRequest } from "../../common/step-requests.js";
import type { AgentLink } from "../agent/link.js";
import { warmProgram } from "./warm.js";
import { BUILD_DISK_HINT, nearlyFullReason, watchDiskFull } from "../vm/disk-full.js";

export interface SavedGuest {
  /** The agent's ready text. */
  readonly agentVersion: string;
  readonly bootSeconds: number;
  /** The migration stream's size, and the RAM file's bytes with data (the rest are holes until an image layer fills them). */
  readonly stateBytes: number;
  readonly ramBytes: number;
  /** Whether the app's program was found and read in the guest before the save (warm.ts). */
  readonly warmed: boolean;
}

/**
 * Boots `vm` until its agent is ready for the app, reads the app's program
 * there when `warm` names it, then saves the machine to
 * vm.snapshot (migration.ts; it ends with the machine stopped and its disk
 * flushed). QEMU is quit afterwards.
 */
export async function saveReadyGuest(vm: VmConfig, readyTimeoutSeconds: number, warm?: WarmRequest): Promise<SavedGuest> {
  const snapshot = vm.snapshot;
  if (!vm.agentSocket) throw new Error("only a guest with the Containerx agent can be snapshotted");
  if (snapshot?.mode !== "save") throw new Error("saveReadyGuest needs a VM placed to save a snapshot");
  await prepareHostSide(vm);
  await Promise.all([rm(snapshot.state, { force: true }), rm(snapshot.ram, { force: true })]);
  let ready!: (agent: { link: AgentLink; version: string }) => void;
  let fail!: (err: Error) => void;
  const agentReady = new Promise<{ link: AgentLink; version: string }>((resolve) => ready = resolve);
  // Ends every wait below; QEMU's exit once the save is done rejects it unheard.
  const failed = new Promise<never>((_, reject) => fail = reject);
  failed.catch(() => undefined);
  // The connection stays open: the agent must not see its launcher go before the snapshot is taken.
  const server = await listenForAgent(vm.agentSocket, {
    ready: (link, version) => ready({ link, version }),
    frame: (frame) => {
      if (frame.type === FRAME_TYPES.fatal) fail(new Error(`guest agent: ${frame.payload.toString("utf8")}`));
    },
    protocolError: (message) => fail(new Error(`guest agent: ${message}`)),
  });
  const started = Date.now();
  const qemu = startQemu(vm, { stdin: "ignore", stdout: "ignore" });
  // The save goes through this session; before it, the session says when the guest's disk found no room.
  const qmpSession = QmpSession.connectWhenUp(vm.qmpSocket, qemu.exited);
  qmpSession.catch(() => undefined);
  void qmpSession.then((qmp) => watchDiskFull(qmp, vm.disk, (reason) => fail(new Error(`${reason}; ${BUILD_DISK_HINT}`))));
  void qemu.exited.then(async (exit) => {
    // QEMU writes the RAM file through a shared mapping: a full disk kills it with SIGBUS, saying nothing.
    const full = await nearlyFullReason("the snapshot's RAM file", snapshot.ram);
    fail(new Error(full ? `QEMU ${howQemuEnded(exit)} before the guest was saved: ${full}; ${BUILD_DISK_HINT}`
      : `QEMU ${howQemuEnded(exit)} before the guest was saved (${qemuMessage(qemu.stderr()) || lastLine(await consoleText(vm)) || "no message"})`));
  });
  const timer = setTimeout(() => fail(new Error(`the guest's agent was not ready within ${readyTimeoutSeconds}s`)), readyTimeoutSeconds * 1000);
  try {
    const { link, version: agentVersion } = await Promise.race([agentReady, failed]);
    const bootSeconds = (Date.now() - started) / 1000;
    const warmed = warm ? (await Promise.race([warmProgram(link, warm), failed])) === 0 : false;
    const qmp = await Promise.race([qmpSession, failed]);
    await saveMachine(qmp, snapshot.state);
    await qmp.execute("quit").catch(() => undefined);
    const ram = await stat(snapshot.ram).catch(() => undefined);
    return { agentVersion, bootSeconds, stateBytes: (await stat(snapshot.state)).size, ramBytes: ram ? ram.blocks * 512 : 0, warmed };
  } finally {
    clearTimeout(timer);
    server.close();
    void qmpSession.then((qmp) => qmp.close(), () => undefined);
    qemu.child.kill("SIGKILL");
    await qemu.exited;
    await removeSockets(vm);
  }
}
