/**
 * The guest's network, without privileges either way: QEMU's own user-mode
 * stack (slirp, `-netdev user`), or passt, a separate process that QEMU
 * talks to over a connected socket (`-netdev stream`). Both give the guest
 * the same plan (its address, gateway, DNS: GUEST_NETWORK) and forward the
 * container's ports to it, so a guest saved with one resumes with the other.
 *
 * Measured with bench/throughput (aarch64 guests resumed, one run each),
 * passt moved a 1 MB HTTP response at 23.6 MB/s against slirp's 10.8, as it
 * carries a 64 KB MTU, but answered small requests slower (redis GET with 4
 * clients 1596 req/s against 2141: one more process to wake per packet). So
 * slirp stays the default, and passt is there for bulk transfers when asked
 * (CX_NET=passt). It always sandboxes itself in a user namespace, which
 * Docker's default seccomp profile refuses: where it cannot start, slirp
 * serves instead, and the launcher says why.
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import type { Socket } from "node:net";
import { virtioDevice, type GuestArch } from "../../common/arches.js";
import type { Port } from "../../common/guest-env.js";
import { QEMU_IDS as ID } from "../../common/qemu-options.js";
import { exists } from "../../common/exists.js";

export type NetBackend = "slirp" | "passt";

/** The guest's fixed plan, slirp's defaults; the agent configures the same (guest-agent/agent.c). */
export const GUEST_NETWORK = {
  address: "10.0.2.15",
  prefixLength: 24,
  gateway: "10.0.2.2",
  dns: "10.0.2.3",
  /** slirp's own MAC for the gateway: passt takes it too, so a resumed guest's neighbour entry stays right. */
  gatewayMac: "52:55:0a:00:02:02",
} as const;

/**
 * The MTU the NIC offers the guest (virtio-net host_mtu). passt's default:
 * one frame per 64 KB instead of 45, where each frame costs the emulated
 * kernel. slirp's TCP never sends the guest more than its own 1500 allows.
 */
export const GUEST_MTU = 65520;

export const PASST = "/usr/bin/passt";

/** The descriptor QEMU gets its end of the passt connection on (qemu-process.ts puts it there). */
export const PASST_FD = 3;

export interface NetFacts {
  /** Whether the runtime has passt. */
  readonly passt: boolean;
  /** Whether a seccomp filter confines the container (/proc/self/status Seccomp: 2). */
  readonly seccompFilter: boolean;
}

export interface NetChoice {
  readonly backend: NetBackend;
  /** One line: what was chosen and why (CX_LOG=info), or what differs from what was asked for. */
  readonly reason: string;
  readonly deviation: boolean;
  /** Said with passt's own reason if it cannot start, when slirp serves instead. */
  readonly hint: string;
}

/** passt could not start: the launcher takes slirp and says this. */
export class NetworkError extends Error {}

/** `facts`: only passt needs them, so readNetFacts runs only when it is asked for. */
export function chooseNet(setting: NetBackend, facts: NetFacts | undefined): NetChoice {
  if (setting === "slirp") return { backend: "slirp", reason: "network by slirp", deviation: false, hint: "" };
  if (!facts) throw new Error("CX_NET=passt is planned without the container's network facts");
  // The filter is the likely reason passt fails, not a sure one: a profile of the user's own may allow its user namespace.
  const hint = facts.seccompFilter ? " (its sandbox needs a user namespace, which the container's seccomp profile refuses: docker run --security-opt seccomp=unconfined)" : "";
  if (!facts.passt) return { backend: "slirp", reason: `network by slirp: CX_NET=passt, but this runtime has no ${PASST}`, deviation: true, hint };
  return { backend: "passt", reason: "network by passt (CX_NET=passt)", deviation: false, hint };
}

/** Whether /proc/self/status says a seccomp filter confines this process. */
export const hasSeccompFilter = (status: string) => /^Seccomp:\s*2$/m.test(status);

export async function readNetFacts(): Promise<NetFacts> {
  return {
    passt: await exists(PASST),
    seccompFilter: hasSeccompFilter(await readFile("/proc/self/status", "utf8")),
  };
}

/** passt's arguments: the guest's plan, the ports, and QEMU's connection on PASST_FD. */
export function passtArgs(ports: readonly Port[]): string[] {
  const list = (protocol: Port["protocol"]) => ports.filter((p) => p.protocol === protocol).map((p) => p.port).join(",") || "none";
  const net = GUEST_NETWORK;
  return ["--fd", String(PASST_FD), "--quiet",
    "--address", net.address, "--netmask", String(net.prefixLength), "--gateway", net.gateway, "--dns-forward", net.dns,
    "--mac-addr", net.gatewayMac, "--mtu", String(GUEST_MTU), "--tcp-ports", list("tcp"), "--udp-ports", list("udp")];
}

/** QEMU's network backend and NIC. `resume`: a snapshot saved under slirp holds slirp's state, which only a slirp backend loads. */
export function netdevArgs(arch: GuestArch, backend: NetBackend, ports: readonly Port[], resume: boolean): string[] {
  const hostfwd = ports.map((p) => `,hostfwd=${p.protocol}::${p.port}-:${p.port}`).join("");
  const netdev = backend === "slirp" ? `user,id=${ID.net}${hostfwd}` : `stream,id=${ID.net},server=off,addr.type=fd,addr.str=${PASST_FD}`;
  return [
    "-netdev", netdev,
    // No option ROM (a PCI NIC's): the kernel is booted directly, not over PXE.
    "-device", `${virtioDevice(arch, "virtio-net")},netdev=${ID.net},host_mtu=${GUEST_MTU}${arch.virtioTransport === "mmio" ? "" : ",romfile="}`,
    ...(backend === "passt" && resume ? ["-netdev", `user,id=${ID.slirpState},restrict=on`] : []),
  ];
}

/** A running passt and the socket QEMU is to get as its descriptor PASST_FD. */
export interface PasstPeer {
  readonly qemuEnd: Socket;
}

/**
 * Starts passt on one end of a socket pair and resolves once it has set up
 * and sandboxed itself (its first process exits 0 as it goes to the
 * background), or rejects with what it said. A connection is never left
 * unconnected, so passt never meets a forwarded port before its guest
 * (Debian trixie's passt segfaults on that). Until QEMU takes the other end,
 * this process may read a frame passt sends there; a lost frame is a lost
 * packet, which TCP sends again.
 */
export function startPasst(ports: readonly Port[]): Promise<PasstPeer> {
  const child = spawn(PASST, passtArgs(ports), { stdio: ["ignore", "ignore", "pipe", "pipe"] });
  const qemuEnd = child.stdio[PASST_FD] as Socket;
  let said = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    said += chunk.toString("utf8");
  });
  const saidAll = new Promise((resolve) => child.stderr!.once("close", resolve));
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      qemuEnd.destroy();
      reject(new NetworkError(`passt did not start: ${why}`));
    };
    child.once("error", (err) => fail(err.message));
    // Not "close": the pair's other end stays open in the passt that went on.
    child.once("exit", (code, signal) => {
      if (code === 0) resolve({ qemuEnd });
      else void saidAll.then(() => fail(lastMeaningfulLine(said) || (signal ? `killed by ${signal}` : `exit code ${code}`)));
    });
  });
}

/** passt's last line, past its note that it runs the build without AVX2. */
const lastMeaningfulLine = (text: string) => text.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("Can't run AVX2")).pop() ?? "";
