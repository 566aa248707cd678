/**
 * Saving a machine to a build-time snapshot and resuming it: QEMU's migration
 * to and from a file, with x-ignore-shared set on both sides so that RAM
 * backed by a shared file (the snapshot's RAM file, memory.ts) stays out
 * of the stream. QEMU 10 sets that capability only over QMP, and the two
 * sides must agree, so both are here.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { QmpSession } from "./qmp.js";

const CAPABILITIES = { capabilities: [{ capability: "x-ignore-shared", state: true }] };

interface MigrationStatus {
  readonly status?: string;
  readonly "error-desc"?: string;
}

async function migrationDone(qmp: QmpSession, what: string): Promise<void> {
  for (;;) {
    const { status, "error-desc": error } = await qmp.execute<MigrationStatus>("query-migrate");
    if (status === "completed") return;
    if (status === "failed" || status === "cancelled") throw new Error(`QEMU could not ${what}: ${error ?? status}`);
    await sleep(1);
  }
}

/**
 * Stops the machine and writes its state to `state`. Stopped first, the
 * mapped RAM file and the device state in the stream are of one instant; the
 * stream then records a paused machine, which resumeMachine continues.
 */
export async function saveMachine(qmp: QmpSession, state: string): Promise<void> {
  await qmp.execute("stop");
  await qmp.execute("migrate-set-capabilities", CAPABILITIES);
  await qmp.execute("migrate", { uri: `file:${state}` });
  await migrationDone(qmp, "save the machine");
}

/**
 * Loads `state` into a QEMU started with `-incoming defer` (qemu-args.ts) and
 * runs the guest, unless a debugger is to continue it (CX_GDB_WAIT).
 */
export async function resumeMachine(qmp: QmpSession, state: string, run = true): Promise<void> {
  await qmp.execute("migrate-set-capabilities", CAPABILITIES);
  await qmp.execute("migrate-incoming", { uri: `file:${state}` });
  await migrationDone(qmp, "load the snapshot");
  // The loaded machine turns from "inmigrate" to the saved "paused" just after the load completes.
  while ((await qmp.execute<{ status: string }>("query-status")).status !== "paused") await sleep(1);
  // `cont` makes the loaded disks writable before the guest runs; a debugger's continue does not, and QEMU aborts at the guest's first write.
  if (run) await qmp.execute("cont");
  else await qmp.execute("blockdev-set-active", { active: true });
}
