import type { Checker } from "./checker.js";
import { GUEST_LIMITS, QEMU_MODEL_NAME } from "../../common/guest-env.js";
import { checkQemuArgs } from "../../common/qemu-options.js";
import { GUEST_KEYS, NO_GUEST_SPEC, type GuestSpec } from "./spec.js";
import type { YNode } from "./yaml-positions.js";


function qemuArgs(c: Checker, node: YNode): string[] {
  const items = c.list(node, "guest.qemu_args", '["-device", "virtio-rng-pci"]');
  const args = items.map((n, i) => c.string(n, `guest.qemu_args[${i}]`));
  const bad = checkQemuArgs(args);
  if (bad) c.fail(items[bad.index].pos, `guest.qemu_args[${bad.index}]: ${bad.problem}`, bad.hint);
  return args;
}

export function parseGuest(c: Checker, node: YNode): GuestSpec {
  if (node.value === null) return NO_GUEST_SPEC;
  const f = new Map(c.entries(node, GUEST_KEYS, "guest").map((e) => [e.name, e.value]));
  const word = (key: string) => {
    const n = f.get(key);
    if (!n) return undefined;
    const v = c.string(n, `guest.${key}`);
    if (!QEMU_MODEL_NAME.test(v)) c.fail(n.pos, `guest.${key} '${v}' is not a QEMU ${key} name`);
    return v;
  };
  const machine = word("machine");
  const cpu = word("cpu");
  const cpus = f.get("cpus");
  const memory = f.get("memory");
  const disk = f.get("disk_size");
  const kernelArgs = f.get("kernel_args");
  const extra = f.get("qemu_args");
  const snapshot = f.get("snapshot");
  return {
    ...(machine ? { machine } : {}),
    ...(cpu ? { cpu } : {}),
    ...(cpus ? { cpus: c.integer(cpus, "guest.cpus", GUEST_LIMITS.cpus.min, GUEST_LIMITS.cpus.max) } : {}),
    ...(memory ? { memoryMiB: c.sizeMiB(memory, "guest.memory", GUEST_LIMITS.memoryMiB.min, GUEST_LIMITS.memoryMiB.max) } : {}),
    ...(disk ? { diskMiB: c.sizeMiB(disk, "guest.disk_size", GUEST_LIMITS.diskMiB.min, GUEST_LIMITS.diskMiB.max) } : {}),
    kernelArgs: kernelArgs ? c.strings(kernelArgs, "guest.kernel_args", (n, w) => c.string(n, w)).flatMap((s) => s.split(/\s+/)).filter(Boolean) : [],
    qemuArgs: extra && extra.value !== null ? qemuArgs(c, extra) : [],
    snapshot: snapshot ? c.boolean(snapshot, "guest.snapshot") : true,
  };
}
