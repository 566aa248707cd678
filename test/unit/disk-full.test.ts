import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { QmpSession } from "../../runtime/vm/qmp.js";
import { nearlyFullReason, watchDiskFull } from "../../runtime/vm/disk-full.js";

/** A monitor that greets, accepts qmp_capabilities, then sends `events` and hangs up (a fake QEMU; the e2e hardening test fills a real disk). */
async function fakeMonitor(socket: string, events: object[]) {
  const server = createServer((conn) => {
    conn.write(`${JSON.stringify({ QMP: { version: {} } })}\n`);
    conn.once("data", () => {
      conn.write(`${JSON.stringify({ return: {} })}\n`);
      // Later, as QEMU's come: a listener is added once the session is up.
      setTimeout(() => {
        for (const event of events) conn.write(`${JSON.stringify(event)}\n`);
        conn.end();
      }, 20);
    });
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return server;
}

test("QEMU pausing the guest for want of disk space is one reason naming the disk's folder; other I/O errors are not", async () => {
  const dir = await mkdtemp(join(tmpdir(), "cx-unit-qmp-"));
  const socket = join(dir, "qmp.sock");
  const server = await fakeMonitor(socket, [
    { event: "BLOCK_IO_ERROR", data: { device: "disk0", operation: "write", action: "report", nospace: false, reason: "Input/output error" } },
    { event: "STOP" },
    { event: "BLOCK_IO_ERROR", data: { device: "disk0", operation: "write", action: "stop", nospace: true, reason: "No space left on device" } },
  ]);
  const qmp = await QmpSession.connect(socket);
  const reasons: string[] = [];
  const heard = new Promise<void>((resolve) => watchDiskFull(qmp, join(dir, "disk.qcow2"), (reason) => {
    reasons.push(reason);
    resolve();
  }));
  await heard;
  await new Promise((resolve) => setTimeout(resolve, 50));
  qmp.close();
  server.close();
  assert.equal(reasons.length, 1);
  assert.match(reasons[0], new RegExp(`^no space left on the disk holding the guest's disk \\(${dir}: \\d+ MiB free\\): QEMU paused the guest when a write to it failed$`));
  await rm(dir, { recursive: true });
});

test("a disk with room is not called full; a missing folder is no reason either", async () => {
  assert.equal(await nearlyFullReason("the snapshot's RAM file", join(tmpdir(), "ram")), undefined);
  assert.equal(await nearlyFullReason("the snapshot's RAM file", "/no/such/dir/ram"), undefined);
});
