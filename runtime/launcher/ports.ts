/**
 * Which exposed ports the container can forward. QEMU's slirp and passt
 * listen on the container's side as the container's user, and a user without
 * CAP_NET_BIND_SERVICE may listen only from net.ipv4.ip_unprivileged_port_start
 * up: Docker sets it to 0 in every container, containerd's `ctr` and some
 * Kubernetes runtimes leave the kernel's 1024. A port that cannot be
 * listened on would stop QEMU; it is left out with a note instead.
 */
import { readFile } from "node:fs/promises";
import { CAPABILITIES, hasEffectiveCapability } from "../../common/capabilities.js";
import type { Port } from "../../common/guest-env.js";

/** The lowest port this container's user may listen on: 0 with CAP_NET_BIND_SERVICE. */
export async function lowestListenPort(): Promise<number> {
  if (await hasEffectiveCapability(CAPABILITIES.netBindService)) return 0;
  const start = await readFile("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8").catch(() => "1024");
  return Number(start.trim()) || 0;
}

export interface PortChoice {
  readonly forwarded: readonly Port[];
  /** The note for ports left out; undefined when every port is forwarded. */
  readonly refused?: string;
}

export function choosePorts(ports: readonly Port[], lowest: number): PortChoice {
  const forwarded = ports.filter((p) => p.port >= lowest);
  const left = ports.filter((p) => p.port < lowest);
  if (!left.length) return { forwarded };
  return {
    forwarded,
    refused: `not forwarding ${left.map((p) => `${p.port}/${p.protocol}`).join(", ")}: this container's user may not listen below port ${lowest} ` +
      "(net.ipv4.ip_unprivileged_port_start); run it as root, or with --sysctl net.ipv4.ip_unprivileged_port_start=0 as Docker does, or with CAP_NET_BIND_SERVICE",
  };
}
