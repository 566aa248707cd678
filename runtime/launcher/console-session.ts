import { rm } from "node:fs/promises";
import { createOverlayDisk } from "../vm/overlay-disk.js";
import { qmpCommand } from "../vm/qmp.js";
import type { VmConfig } from "../vm/config.js";
import type { Notes } from "./notes.js";
import { howQemuEnded, qemuMessage, startQemu } from "../vm/qemu-process.js";
import { exists } from "../../common/exists.js";

/**
 * How a guest without the Containerx agent ended. Its exit code never reaches
 * the container: all the launcher sees is QEMU's own end.
 */
export type ConsoleOutcome =
  /** The guest powered off (or, QEMU running with -no-reboot, rebooted) by itself. */
  | { readonly kind: "shut-down" }
  /** The container was stopped; `forced` when the guest ignored the power-off request and QEMU was quit. */
  | { readonly kind: "stopped"; readonly signal: NodeJS.Signals; readonly forced: boolean }
  | { readonly kind: "guest-died"; readonly reason: string };

/** Signals that stop a container (docker stop, Ctrl-C without -t, a closed terminal). */
const STOP_SIGNALS = ["SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT"] as const;

/** The guest's UEFI variable store, made on its first boot so settings persist across restarts of the container. */
async function prepareFirmware(vm: VmConfig): Promise<void> {
  if (vm.boot.kind !== "uefi") return;
  const vars = vm.boot.vars;
  if (!(await exists(vars))) await createOverlayDisk(vars, vm.boot.varsTemplate);
}

/**
 * Runs a guest that has no agent: QEMU's serial console is the container's
 * stdin and stdout. A stop signal asks the guest to power off over ACPI and
 * quits QEMU if it has not within `powerdownSeconds`; a second signal quits
 * at once.
 */
export async function runConsoleGuest(vm: VmConfig, powerdownSeconds: number, notes: Notes): Promise<ConsoleOutcome> {
  await prepareFirmware(vm);
  await rm(vm.qmpSocket, { force: true });
  const started = startQemu(vm, { stdin: "inherit", stdout: "inherit" }, true);
  const qemu = started.child;

  let stop: { signal: NodeJS.Signals; forced: boolean } | undefined;
  let quitTimer: NodeJS.Timeout | undefined;
  const quit = (why: string) => {
    if (!stop) return;
    stop.forced = true;
    notes.deviation(why);
    qemu.kill("SIGTERM");
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop) {
      quit(`${signal} again: quitting QEMU now`);
      return;
    }
    stop = { signal, forced: false };
    notes.info(`${signal}: asking the guest to power off (ACPI); QEMU is quit in ${powerdownSeconds}s if it has not`);
    qmpCommand(vm.qmpSocket, "system_powerdown").catch((err: Error) => quit(`${err.message}; quitting QEMU`));
    quitTimer = setTimeout(() => quit(`the guest did not power off within ${powerdownSeconds}s; quitting QEMU`), powerdownSeconds * 1000);
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);

  const exit = await started.exited;
  clearTimeout(quitTimer);
  for (const s of STOP_SIGNALS) process.off(s, onSignal);
  await rm(vm.qmpSocket, { force: true });

  if (exit.error) return { kind: "guest-died", reason: `cannot start ${started.binary}: ${exit.error.message}` };
  if (stop) return { kind: "stopped", ...stop };
  if (exit.code === 0) return { kind: "shut-down" };
  return { kind: "guest-died", reason: `QEMU ${howQemuEnded(exit)} (${qemuMessage(started.stderr()) || "no message"})` };
}
