import type { Checker } from "./checker.js";
import { EMPTY_GUEST_SHAPE, GUEST_SETTINGS, QEMU_MODEL_NAME, type GuestShape, type GuestValue } from "../../common/guest-env.js";
import { checkQemuArgs } from "../../common/qemu-options.js";
import { MAX_SERIAL_PORTS, parseSerialBackend, type SerialBackend } from "../../common/serial-ports.js";
import { GUEST_KEYS, NO_GUEST_SPEC, type GuestSpec } from "./spec.js";
import type { YNode } from "./yaml-positions.js";

function qemuArgs(c: Checker, node: YNode, what: string): string[] {
  if (node.value === null) return [];
  const items = c.list(node, what, '["-device", "virtio-rng-pci"]');
  const args = items.map((n, i) => c.string(n, `${what}[${i}]`));
  const bad = checkQemuArgs(args);
  if (bad) c.fail(items[bad.index].pos, `${what}[${bad.index}]: ${bad.problem}`, bad.hint);
  return args;
}

/** A string or a list of them, each one port (serial-ports.ts), checked where it is written. */
function serialPorts(c: Checker, node: YNode, what: string): SerialBackend[] {
  const ports: SerialBackend[] = [];
  c.strings(node, what, (n, w) => {
    const word = c.string(n, w);
    const parsed = parseSerialBackend(word);
    if ("problem" in parsed) c.fail(n.pos, `${w}: ${parsed.problem}`);
    ports.push(parsed);
    return word;
  });
  if (ports.length > MAX_SERIAL_PORTS) c.fail(node.pos, `${what}: ${ports.length} serial ports, at most ${MAX_SERIAL_PORTS}`);
  return ports;
}

/** One guest setting's value, checked as its kind says (the launcher checks the CX_* variable the same way). */
function guestValue(c: Checker, node: YNode, what: string, value: GuestValue): string | number | string[] | SerialBackend[] {
  switch (value.kind) {
    case "model": {
      const v = c.string(node, what);
      if (!QEMU_MODEL_NAME.test(v)) c.fail(node.pos, `${what} '${v}' is not a QEMU ${what.replace(/^guest\./, "")} name`);
      return v;
    }
    case "integer":
      return c.integer(node, what, value.min, value.max);
    case "size":
      return c.sizeMiB(node, what, value.min, value.max);
    case "words":
      return c.strings(node, what, (n, w) => c.string(n, w)).flatMap((s) => s.split(/\s+/)).filter(Boolean);
    case "qemuArgs":
      return qemuArgs(c, node, what);
    case "serial":
      return serialPorts(c, node, what);
    case "choice": {
      const v = c.string(node, what);
      if (!value.choices.includes(v)) c.fail(node.pos, `${what} '${v}' is not one of ${value.choices.join(", ")}`);
      return v;
    }
  }
}

export function parseGuest(c: Checker, node: YNode): GuestSpec {
  if (node.value === null) return NO_GUEST_SPEC;
  const f = new Map(c.entries(node, GUEST_KEYS, "guest").map((e) => [e.name, e.value]));
  const shape: Record<string, unknown> = { ...EMPTY_GUEST_SHAPE };
  for (const [field, setting] of Object.entries(GUEST_SETTINGS)) {
    const n = f.get(setting.cxfile);
    if (n) shape[field] = guestValue(c, n, `guest.${setting.cxfile}`, setting.value);
  }
  const snapshot = f.get("snapshot");
  return {
    // Each field was checked by its own row's kind, which is what GuestShape's type says of it.
    ...(shape as GuestShape),
    snapshot: snapshot ? c.boolean(snapshot, "guest.snapshot") : true,
  };
}
