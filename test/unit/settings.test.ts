import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { GUEST_SETTINGS, guestEnv, guestVariable } from "../../common/guest-env.js";
import { SETTINGS, settingsTable } from "../../common/settings.js";
import { parseCxfile } from "../../frontend/cxfile/parse.js";
import { imageConfig } from "../../frontend/image/config.js";
import { planBuild } from "../../frontend/plan/plan.js";
import { settingsFromEnv } from "../../runtime/vm/settings.js";

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
    "guest: { machine: virt, cpu: cortex-a72, cpus: 3, memory: 768M, disk_size: 3G, kernel_args: \"quiet loglevel=3\", qemu_args: [-device, virtio-rng-pci], gdb: 1234 }",
    "entrypoint: [/opt/app, --serve]",
    "user: app:staff",
    "expose: [80, 53/udp]",
  ].join("\n");
  const plan = planBuild(parseCxfile(text, "Cxfile"), { hostPlatforms: [amd64], buildPlatform: amd64, imagePrefix: "containerx/", runtimeTag: "latest" });
  const config = imageConfig(plan, amd64, {}) as { config: { Env: string[] } };
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
