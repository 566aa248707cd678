import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import { mkdir, readFile, rm } from "node:fs/promises";
import type { VmConfig } from "./config.js";
import { PASST_FD, type PasstPeer } from "./network.js";
import { buildQemuArgs } from "./qemu-args.js";

export interface QemuExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when QEMU could not be started at all. */
  readonly error?: Error;
}

/** QEMU running a VmConfig: the process, its end, and the tail of what it wrote to stderr. */
export interface QemuProcess {
  readonly binary: string;
  readonly child: ChildProcess;
  readonly exited: Promise<QemuExit>;
  stderr(): string;
}

/** Enough of QEMU's stderr to explain how it ended. */
const STDERR_TAIL = 4096;

export const lastLine = (text: string) => text.trim().split("\n").filter(Boolean).pop() ?? "";

/**
 * QEMU's reason from its stderr: its last error line (error_report prefixes
 * them with the program's name), not a hint printed after it such as "Use
 * -machine help to list supported machines"; else the last line.
 */
export function qemuMessage(stderr: string): string {
  const lines = stderr.trim().split("\n").filter(Boolean);
  return [...lines].reverse().find((l) => /^qemu-system-[\w-]+: /.test(l)) ?? lines.at(-1) ?? "";
}

/**
 * Spawns QEMU for `vm`. Its stderr is kept (and echoed to ours when asked);
 * stdin and stdout are wired as the caller says: the container's own for a
 * guest whose console is stdio, or a console on stderr (fd 2). A passt
 * peer's socket becomes QEMU's alone.
 */
export function startQemu(vm: VmConfig, stdio: { stdin: "inherit" | "ignore"; stdout: "inherit" | "ignore" | 2 }, echoStderr = false,
  passt?: PasstPeer): QemuProcess {
  const { binary, args } = buildQemuArgs(vm);
  const fds: StdioOptions = [stdio.stdin, stdio.stdout, "pipe"];
  if (passt) fds[PASST_FD] = passt.qemuEnd;
  const child = spawn(binary, args, { stdio: fds });
  // QEMU holds its own copy: passt sees the connection end when QEMU does.
  passt?.qemuEnd.destroy();
  let tail = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    if (echoStderr) process.stderr.write(chunk);
    tail = (tail + chunk.toString("utf8")).slice(-STDERR_TAIL);
  });
  const exited = new Promise<QemuExit>((resolve) => {
    child.once("error", (error) => resolve({ code: null, signal: null, error }));
    child.once("close", (code, signal) => resolve({ code, signal }));
  });
  return { binary, child, exited, stderr: () => tail };
}

/** How QEMU ended, for a sentence that starts with "QEMU". */
export function howQemuEnded(exit: QemuExit): string {
  return exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
}

/** The VM's sockets: a stale one would stop QEMU or the launcher from listening, and none outlives its QEMU. */
export async function removeSockets(vm: VmConfig): Promise<void> {
  await Promise.all([vm.agentSocket, vm.qmpSocket].flatMap((socket) => (socket ? [rm(socket, { force: true })] : [])));
}

/** What QEMU needs on the host before it starts: no stale sockets, and the empty folder idle volume slots serve. */
export async function prepareHostSide(vm: VmConfig): Promise<void> {
  await removeSockets(vm);
  if (vm.shareSlots) await mkdir(vm.idleShareDir, { recursive: true });
}

/** What the guest wrote to its console file, to say why it failed; empty when the console goes elsewhere. */
export async function consoleText(vm: VmConfig): Promise<string> {
  return typeof vm.console === "object" ? readFile(vm.console.file, "utf8").catch(() => "") : "";
}
