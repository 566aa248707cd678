import { createConnection } from "node:net";

/**
 * Runs one QMP command on QEMU's monitor socket: QMP answers a connection
 * with a greeting, wants `qmp_capabilities` first, then one reply per
 * command, as JSON lines (interleaved with asynchronous events).
 */
export function qmpCommand(socket: string, execute: string, timeoutMs = 3000): Promise<void> {
  return new Promise((resolve, reject) => {
    const conn = createConnection(socket);
    const fail = (why: string) => {
      conn.destroy();
      reject(new Error(`QMP ${execute}: ${why}`));
    };
    const timer = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
    let buffered = "";
    let replies = 0;
    conn.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("utf8");
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const message = JSON.parse(buffered.slice(0, nl)) as { QMP?: unknown; return?: unknown; error?: { desc: string } };
        buffered = buffered.slice(nl + 1);
        if (message.QMP) {
          conn.write(`${JSON.stringify({ execute: "qmp_capabilities" })}\n`);
        } else if (message.error) {
          clearTimeout(timer);
          fail(message.error.desc);
        } else if (message.return !== undefined && ++replies === 1) {
          conn.write(`${JSON.stringify({ execute })}\n`);
        } else if (message.return !== undefined) {
          clearTimeout(timer);
          conn.end();
          resolve();
        }
      }
    });
    conn.on("error", (err) => {
      clearTimeout(timer);
      fail(err.message);
    });
  });
}
