/**
 * The guest's screen (CX_DISPLAY, the Cxfile's `guest.display`): a
 * framebuffer, a keyboard and a tablet in the machine, and QEMU's VNC server
 * on a container port; `web` adds noVNC, served by the launcher on one HTTP
 * port. The settings, the QEMU command line, the launcher and the docs take
 * the modes and ports from here.
 */
export const DISPLAY_MODES = ["off", "vnc", "web"] as const;
export type DisplayMode = (typeof DISPLAY_MODES)[number];

/** QEMU's VNC display number: the server listens on 5900 plus it, display :0 on VNC's own port, where viewers look first. */
export const VNC_DISPLAY = 0;
export const VNC_PORT = 5900 + VNC_DISPLAY;
/** noVNC's usual port: the page and, on the same port, its websocket to QEMU's VNC server. */
export const WEB_PORT = 6080;
/** Where QEMU's VNC server takes websockets, inside the container only: the launcher passes the page's to it. */
export const VNC_WEBSOCKET_PORT = 5700;

/** Whether a mode (unset: off) puts a screen in the machine. */
export const hasScreen = (mode: DisplayMode | undefined): mode is "vnc" | "web" => mode !== undefined && mode !== "off";

/** Container ports a display mode serves (published, and exposed by the image). */
export const displayPorts = (mode: DisplayMode | undefined): number[] =>
  mode === "vnc" ? [VNC_PORT] : mode === "web" ? [VNC_PORT, WEB_PORT] : [];

/** Every container port a display mode takes, its websocket's on 127.0.0.1 included: no other setting may use them. */
export const displayTakenPorts = (mode: DisplayMode | undefined): number[] =>
  mode === "web" ? [...displayPorts(mode), VNC_WEBSOCKET_PORT] : displayPorts(mode);
