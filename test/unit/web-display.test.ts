import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { createServer, connect, type AddressInfo, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serveWebDisplay, WEB_START } from "../../runtime/launcher/web-display.js";

/** A free TCP port of the loopback. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** What a raw HTTP request gets back, until the server closes or `until` says it is enough. */
function exchange(port: number, request: string, until: (got: string) => boolean = () => false): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(request));
    let got = "";
    socket.on("data", (d: Buffer) => {
      got += d.toString("latin1");
      if (until(got)) socket.destroy();
    });
    socket.on("close", () => resolve(got));
  });
}

test("noVNC's files, the first page, no way out of the folder, and the websocket handed to QEMU as a request for /", async () => {
  const root = await mkdtemp(join(tmpdir(), "cx-novnc-"));
  await mkdir(join(root, "app"));
  await writeFile(join(root, "vnc.html"), "<title>noVNC</title>");
  await writeFile(join(root, "app", "ui.js"), "export {};");
  // QEMU's side: answers the handshake it is given with the first line it read, then echoes.
  const seen: string[] = [];
  const qemu = createServer((s: Socket) => {
    let head = "";
    s.on("data", (d: Buffer) => {
      if (!head.includes("\r\n\r\n")) {
        head += d.toString("latin1");
        if (head.includes("\r\n\r\n")) {
          seen.push(head);
          s.write(`HTTP/1.1 101 Switching Protocols\r\n\r\nRFB ${head.split("\r\n")[0]}\n`);
        }
      }
    });
  });
  await new Promise<void>((r) => qemu.listen(0, "127.0.0.1", r));
  const port = await freePort();
  const web = await serveWebDisplay(port, root, (qemu.address() as AddressInfo).port);
  try {
    const get = (path: string) => exchange(port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.match(await get("/"), new RegExp(`^HTTP/1.1 302 [^]*\r\nLocation: ${WEB_START.replace(/[?]/g, "\\?")}\r\n`));
    const page = await get("/vnc.html");
    assert.match(page, /^HTTP\/1.1 200 [^]*Content-Type: text\/html; charset=utf-8[^]*<title>noVNC<\/title>$/);
    assert.match(await get("/app/ui.js"), /Content-Type: text\/javascript; charset=utf-8/);
    assert.match(await get("/../../etc/passwd"), /^HTTP\/1.1 404 /);
    assert.match(await get("/app"), /^HTTP\/1.1 404 /, "a folder is no page");
    assert.match(await get("/missing.js"), /^HTTP\/1.1 404 /);

    const upgraded = await exchange(port, "GET /websockify HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Protocol: binary\r\n\r\n",
      (got) => got.includes("RFB "));
    assert.match(upgraded, /^HTTP\/1.1 101 Switching Protocols\r\n\r\nRFB GET \/ HTTP\/1.1\n$/, "QEMU is asked for /, whatever path the page used");
    assert.match(seen[0] ?? "", /\r\nUpgrade: websocket\r\n[^]*\r\nSec-WebSocket-Protocol: binary\r\n/, "the page's headers reach QEMU as sent");
  } finally {
    web.close();
    qemu.close();
    await rm(root, { recursive: true });
  }
});
