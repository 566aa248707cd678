/**
 * CX_DISPLAY=web: noVNC's page and scripts on one HTTP port, and on the same
 * port the page's websocket, handed as it is to QEMU's VNC server, which
 * speaks websocket itself. So the runtime needs no websockify, which would
 * bring Python into every runtime image.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type * as Http from "node:http";
import { connect, type Socket } from "node:net";
import { extname, join, normalize } from "node:path";

const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  // noVNC's scripts are ES modules, which browsers load only with a script type.
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".oga": "audio/ogg",
  ".mp3": "audio/mpeg",
};

/** The first page: noVNC connecting at once, scaled to the window. */
export const WEB_START = "/vnc.html?autoconnect=1&resize=scale";

export interface WebDisplay {
  close(): void;
}

/** The upgrade request as QEMU's websocket handshake reads it: its headers as sent, for the path QEMU serves. */
function handshake(req: Http.IncomingMessage): string {
  const headers: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`);
  return `GET / HTTP/1.1\r\n${headers.join("")}\r\n`;
}

/** Serves `root` and passes websockets to 127.0.0.1:`vncWebsocket`, on every address's `port`. */
export async function serveWebDisplay(port: number, root: string, vncWebsocket: number): Promise<WebDisplay> {
  // Loaded only here: node:http cannot be in the launcher's startup snapshot, which has no dynamic import either.
  const { createServer } = (process as unknown as { getBuiltinModule(id: "node:http"): typeof Http }).getBuiltinModule("node:http");
  const open = new Set<Socket>();
  const track = (socket: Socket) => {
    open.add(socket);
    socket.on("close", () => open.delete(socket));
  };
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://page").pathname);
    if (path === "/") {
      res.writeHead(302, { Location: WEB_START }).end();
      return;
    }
    const file = join(root, normalize(path));
    const refuse = (code: number) => res.writeHead(code, { "Content-Type": "text/plain" }).end(`${code}\n`);
    if (!file.startsWith(`${root}/`)) return refuse(404);
    if (req.method !== "GET") return refuse(405);
    stat(file).then((s) => {
      if (!s.isFile()) return refuse(404);
      res.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream", "Content-Length": s.size });
      createReadStream(file).pipe(res);
    }, () => refuse(404));
  });
  server.on("connection", track);
  server.on("upgrade", (req: Http.IncomingMessage, socket: Socket, head: Buffer) => {
    const vnc = connect(vncWebsocket, "127.0.0.1", () => {
      vnc.write(handshake(req));
      if (head.length) vnc.write(head);
      socket.pipe(vnc).pipe(socket);
    });
    track(vnc);
    vnc.on("error", () => socket.destroy());
    socket.on("error", () => vnc.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "0.0.0.0", resolve);
  });
  // The page never keeps the container running once the app has ended.
  server.unref();
  return {
    close() {
      server.close();
      for (const socket of open) socket.destroy();
    },
  };
}
