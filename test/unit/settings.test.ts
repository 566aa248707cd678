import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { GUEST_SETTINGS, guestEnv, guestVariable } from "../../common/guest-env.js";
import { SETTINGS, settingsTable } from "../../common/settings.js";
import { parseCxfile } from "../../frontend/cxfile/parse.js";
import { imageConfig } from "../../frontend/image/config.js";
import { planBuild } from "../../frontend/plan/plan.js";
import { settingsFromEnv } from "../../runtime/vm/settings.js";
import { ARCHES } from "../../common/arches.js";
import { serialDevices } from "../../common/serial-ports.js";

const amd64 = { os: "linux", architecture: "amd64" };
const envOf = (lines: readonly string[]) => Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));

test("the README's table of runtime settings is common/settings.ts's", async () => {
  const readme = await readFile(new URL("../../../README.md", import.meta.url), "utf8");
  const start = readme.indexOf("| variable | default | meaning |");
  const shown = readme.slice(start, readme.indexOf("\n\n", start) + 1);
  assert.equal(shown, settingsTable(), `README.md's table should read:\n${settingsTable()}`);
});

test("what the Cxfile writes into the image config the launcher reads back as the same guest and app", () => {
  const text = [
    "base: minimal/aarch64",
    "guest: { machine: virt, cpu: cortex-a72, cpus: 3, memory: 768M, disk_size: 3G, kernel_args: \"quiet loglevel=3\", qemu_args: [-device, virtio-rng-pci], gdb: 1234, serial: [tcp:4001, file:/logs/uart.log], display: web }",
    "entrypoint: [/opt/app, --serve]",
    "user: app:staff",
    "expose: [80, 53/udp]",
  ].join("\n");
  const plan = planBuild(parseCxfile(text, "Cxfile"), { hostPlatforms: [amd64], buildPlatform: amd64, imagePrefix: "containerx/", runtimeTag: "latest" });
  const config = imageConfig(plan, amd64, {}) as { config: { Env: string[]; ExposedPorts: Record<string, unknown> } };
  assert.deepEqual(Object.keys(config.config.ExposedPorts), ["80/tcp", "53/udp", "1234/tcp", "4001/tcp", "5900/tcp", "6080/tcp"], "the ports QEMU listens on are exposed too, for docker run -P");
  const env = envOf(config.config.Env);
  const read = settingsFromEnv(env);
  for (const field of Object.keys(GUEST_SETTINGS) as (keyof typeof GUEST_SETTINGS)[]) {
    const given = plan.guest[field];
    assert.ok(given !== undefined && !(Array.isArray(given) && given.length === 0), `this test's Cxfile sets guest.${GUEST_SETTINGS[field].cxfile}`);
    assert.deepEqual(read[field], given, `guest.${GUEST_SETTINGS[field].cxfile} comes back from ${guestVariable(field)} as it went in`);
  }
  assert.deepEqual([read.entrypoint, read.user, read.ports], [["/opt/app", "--serve"], "app:staff", [{ port: 80, protocol: "tcp" }, { port: 53, protocol: "udp" }]]);
  const { machine, cpu, cpus, memoryMiB, kernelArgs, qemuArgs, diskMiB } = settingsFromEnv(envOf(guestEnv(plan.guest)));
  assert.deepEqual({ machine, cpu, cpus, memoryMiB, kernelArgs, qemuArgs, diskMiB }, {
    machine: "virt", cpu: "cortex-a72", cpus: 3, memoryMiB: 768, kernelArgs: ["quiet", "loglevel=3"], qemuArgs: ["-device", "virtio-rng-pci"], diskMiB: 3072,
  }, "the build's run steps read the same shape from guestEnv, in the units the launcher uses");

  const written = Object.keys(env).filter((k) => k.startsWith("CX_"));
  const byName = new Map(Object.values(SETTINGS).map((s) => [s.name as string, s]));
  for (const name of written) assert.equal(byName.get(name)?.setBy, "image", `${name} is in the settings table as one the image writes`);
});

test("serial ports: CX_SERIAL and guest.serial take the same words, and the guest's names follow its machine", () => {
  assert.deepEqual(settingsFromEnv({ CX_SERIAL: "tcp:4001  file:/logs/uart.log" }).serial,
    [{ kind: "tcp", port: 4001 }, { kind: "file", path: "/logs/uart.log" }]);
  assert.throws(() => settingsFromEnv({ CX_SERIAL: "tcp:0" }), /CX_SERIAL: 'tcp:0': the port must be between 1 and 65535/);
  assert.throws(() => settingsFromEnv({ CX_SERIAL: "file:logs" }), /'file:logs' is not a serial port such as tcp:4001 or file:\/logs\/uart1.log/);
  assert.throws(() => settingsFromEnv({ CX_SERIAL: "tcp:1 tcp:2 tcp:3 tcp:4 tcp:5" }), /CX_SERIAL: 5 serial ports, at most 4/);
  const guest = parseCxfile("base: minimal/aarch64\nguest: { serial: [tcp:4001, file:/logs/uart.log] }\n", "Cxfile").guest;
  assert.ok(guestEnv(guest).includes("CX_SERIAL=tcp:4001 file:/logs/uart.log"));
  assert.throws(() => parseCxfile("base: minimal/aarch64\nguest:\n  serial:\n    - tcp:4001\n    - com2\n", "Cxfile"), /Cxfile:5:.*guest.serial\[1\]: 'com2' is not a serial port/);
  assert.deepEqual(serialDevices(ARCHES.aarch64, 2), ["ttyAMA1", "hvc0"]);
  assert.deepEqual(serialDevices(ARCHES.x86_64, 4), ["ttyS1", "ttyS2", "ttyS3", "hvc0"]);
  assert.deepEqual(serialDevices(ARCHES.ppc64le, 2), ["hvc1", "hvc2"], "pseries' console is hvc0");
  assert.deepEqual(serialDevices(ARCHES.aarch64, 2, "sbsa-ref"), ["hvc0", "hvc1"], "another machine's UARTs are not the table's");
  assert.throws(() => settingsFromEnv({ CX_SERIAL: "tcp:80", CX_PORTS: "80/tcp" }), /CX_SERIAL and CX_PORTS both want container port 80/);
  assert.throws(() => settingsFromEnv({ CX_SERIAL: "tcp:1234", CX_GDB: "1234" }), /CX_SERIAL and CX_GDB both want container port 1234/);
});

test("the README's Guest arches table names each arch's serial ports as serialDevices does", async () => {
  const readme = await readFile(new URL("../../../README.md", import.meta.url), "utf8");
  const rows = new Map(readme.split("\n").map((l) => l.split(" | ")).filter((c) => c.length === 11).map((c) => [c[0].slice(2), c]));
  for (const [name, arch] of Object.entries(ARCHES)) {
    const row = rows.get(name);
    assert.ok(row, `README.md has an eleven-column Guest arches row for ${name}`);
    assert.equal(row.at(-1), `${serialDevices(arch, 2).join(", ")} |`, `${name}'s serial ports`);
  }
});
