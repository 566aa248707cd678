/**
 * The guest's serial ports beyond its console (CX_SERIAL) through `docker
 * run -p`: a client on the host talks with the app both ways over one port,
 * while the other port's output lands in a file of a volume. On aarch64,
 * resumed from its snapshot (whose machine has both ports from its build):
 * first with the client on the board's second PL011 (ttyAMA1), then on the
 * virtio console (hvc0), as the arch table names them.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ARCHES } from "../../common/arches.js";
import { serialDevices } from "../../common/serial-ports.js";
import { buildArchImage, docker, publishedPort, startReady } from "./docker.js";

const PORT = 4001;
const containers: string[] = [];

after(async () => {
  if (containers.length) await docker(["rm", "-f", ...containers]);
});

/** Sends `line` to a host port and returns the first line that comes back, or what went wrong. */
function converse(port: number, line: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let got = "";
    const done = (text: string) => { socket.destroy(); clearTimeout(timer); resolve(text); };
    const timer = setTimeout(() => done(`no answer in 30 s (got ${JSON.stringify(got)})`), 30_000);
    socket.on("connect", () => socket.write(`${line}\n`));
    socket.on("data", (chunk) => {
      got += chunk.toString("latin1");
      if (got.includes("\n")) done(got.slice(0, got.indexOf("\n")));
    });
    socket.on("error", (err) => done(`error: ${err.message}`));
    socket.on("close", () => done(`closed after ${JSON.stringify(got)}`));
  });
}

const [uart, hvc] = serialDevices(ARCHES.aarch64, 2);
for (const [label, order] of [[`the board's second UART (${uart})`, "tcp-first"], [`a virtio console (${hvc})`, "file-first"]] as const) {
  test(`aarch64: a host client talks with the app both ways through -p on ${label}, and the other port writes into a volume's file`, async () => {
    const image = await buildArchImage("aarch64");
    const logs = await mkdtemp(join(tmpdir(), "cx-e2e-serial-"));
    const ports = order === "tcp-first" ? [`tcp:${PORT}`, "file:/logs/uart.log"] : ["file:/logs/uart.log", `tcp:${PORT}`];
    const [talk, log] = order === "tcp-first" ? [uart, hvc] : [hvc, uart];
    const name = `cx-e2e-serial-${order}-${process.pid}`;
    containers.push(name);
    await startReady(name, ["-e", "CX_LOG=info", "-e", `CX_SERIAL=${ports.join(" ")}`, "-p", `127.0.0.1::${PORT}`, "-v", `${logs}:/logs`,
      image, "echo", talk, log]);
    const hostPort = await publishedPort(name, PORT);

    assert.equal(await converse(hostPort, "hello from the host"), "guest got: hello from the host");
    assert.equal((await docker(["wait", name])).stdout.trim(), "5", "the app ends with its own code");
    const { stderr } = await docker(["logs", name]);
    assert.match(stderr, /^containerx: resuming the guest from the image's build-time snapshot$/m, "two serial ports keep the snapshot");
    const said = order === "tcp-first" ? `/dev/${uart} on container port ${PORT}, /dev/${hvc} on /logs/uart.log` : `/dev/${uart} on /logs/uart.log, /dev/${hvc} on container port ${PORT}`;
    assert.match(stderr, new RegExp(`^containerx: serial ports: ${said.replace(/\//g, "\\/")}$`, "m"));
    assert.equal(await readFile(join(logs, "uart.log"), "utf8"), `uart log: ${log}\n`);
  });
}
