/**
 * What a process in the container would have been, for the guest: the
 * container's environment (minus the runtime's own variables), working
 * directory, user and terminal. The app and cx-exec sessions share this, as
 * `docker run` and `docker exec` share the container's defaults.
 */
import { spawnSync } from "node:child_process";
import type { ProcessSpec, TerminalSize } from "../agent/protocol.js";
import { isRuntimeVariable } from "../vm/settings.js";

export interface ContainerProcess {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly uid: number;
  readonly gid: number;
  readonly terminal?: TerminalSize;
}

/** The app's argv as `docker run IMAGE args…` asks for it: the image's entrypoint (CX_ENTRYPOINT), then the args (or the image's Cmd). */
export function appArgv(entrypoint: readonly string[], args: readonly string[]): string[] {
  const argv = [...entrypoint, ...args];
  if (argv.length === 0) throw new Error("no command to run in the guest: the image has no entrypoint or cmd, and none was given");
  return argv;
}

/** `imageUser` is the image's guest user (settings' CX_USER). */
export function guestProcess(argv: readonly string[], from: ContainerProcess, imageUser: string | undefined): ProcessSpec {
  // `docker run -u` makes the container process that user; the image's own user applies otherwise.
  const user = from.uid !== 0 ? `${from.uid}:${from.gid}` : imageUser;
  return {
    argv,
    env: Object.entries(from.env).filter(([k]) => !isRuntimeVariable(k)).map(([k, v]) => `${k}=${v}`),
    cwd: from.cwd,
    ...(user ? { user } : {}),
    ...(from.terminal ? { tty: from.terminal } : {}),
  };
}

/** This process as a ContainerProcess. */
export function thisProcess(): ContainerProcess {
  const out = process.stdout;
  return {
    env: process.env,
    cwd: process.cwd(),
    uid: process.getuid?.() ?? 0,
    gid: process.getgid?.() ?? 0,
    ...(out.isTTY ? { terminal: { rows: out.rows || 24, cols: out.columns || 80 } } : {}),
  };
}

/**
 * With -t the guest's terminal does the line editing, echo and signal keys;
 * the container's terminal must pass bytes through untouched both ways, or
 * keys are handled twice and "\n" becomes "\r\r\n". Node's raw mode keeps
 * output processing on, so stty sets it (on stdout: with -t alone, stdin is not the terminal).
 */
export function rawContainerTerminal(): void {
  spawnSync("stty", ["raw", "-echo"], { stdio: [process.stdout.fd, "ignore", "ignore"] });
}
