/** The guest network's two backends on QEMU's command line and passt's, and the plan the agent configures. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { ARCHES } from "../../common/arches.js";
import { GUEST_MTU, GUEST_NETWORK, hasSeccompFilter, netdevArgs, passtArgs } from "../../runtime/vm/network.js";
import { machineIdentity } from "../../runtime/vm/snapshot.js";
import { vmConfigFor } from "../../runtime/vm/config.js";
import { settingsFromEnv } from "../../runtime/vm/settings.js";

const ports = [{ port: 80, protocol: "tcp" as const }, { port: 8080, protocol: "tcp" as const }, { port: 53, protocol: "udp" as const }];
const after = (args: string[], flag: string) => args[args.indexOf(flag) + 1];

test("slirp forwards the ports itself; passt gets them, and QEMU the connected descriptor; the NIC offers the same MTU either way", () => {
  const slirp = netdevArgs(ARCHES.aarch64, "slirp", ports, false);
  assert.equal(after(slirp, "-netdev"), "user,id=net0,hostfwd=tcp::80-:80,hostfwd=tcp::8080-:8080,hostfwd=udp::53-:53");
  const passt = netdevArgs(ARCHES.aarch64, "passt", ports, false);
  assert.equal(after(passt, "-netdev"), "stream,id=net0,server=off,addr.type=fd,addr.str=3");
  for (const args of [slirp, passt]) assert.equal(after(args, "-device"), `virtio-net-pci,netdev=net0,host_mtu=${GUEST_MTU},romfile=`);
  assert.equal(passt.filter((a) => a === "-netdev").length, 1, "booted, passt needs no slirp");
  const resumed = netdevArgs(ARCHES.aarch64, "passt", ports, true);
  assert.deepEqual(resumed.slice(-2), ["-netdev", "user,id=cxslirp,restrict=on"], "a snapshot saved under slirp has slirp state to load");

  const args = passtArgs(ports);
  assert.equal(after(args, "--fd"), "3");
  assert.equal(after(args, "--tcp-ports"), "80,8080");
  assert.equal(after(args, "--udp-ports"), "53");
  assert.equal(after(args, "--mac-addr"), GUEST_NETWORK.gatewayMac);
  assert.equal(after(passtArgs([]), "--tcp-ports"), "none");
});

test("the agent configures the plan passt is given", async () => {
  const agent = await readFile(new URL("../../../guest-agent/agent.c", import.meta.url), "utf8");
  const define = (name: string) => new RegExp(`^#define ${name} "([^"]+)"$`, "m").exec(agent)?.[1];
  assert.deepEqual([define("GUEST_IP"), define("GATEWAY_IP"), define("DNS_IP")], [GUEST_NETWORK.address, GUEST_NETWORK.gateway, GUEST_NETWORK.dns]);
});

test("a snapshot's machine is the same whichever backend runs it", () => {
  const place = { disk: "/s/d", stateDir: "/s", accel: "tcg" as const, size: { memoryMiB: 512, cpus: 1, notes: [] }, shares: [] };
  const base = { arch: "aarch64" as const, flavour: "minimal", kernelArgs: [] };
  const settings = settingsFromEnv({ CX_PORTS: "80/tcp" });
  assert.deepEqual(machineIdentity(vmConfigFor(base, settings, { ...place, network: "passt" })), machineIdentity(vmConfigFor(base, settings, place)));
});

test("a seccomp filter is read from /proc/self/status", () => {
  assert.equal(hasSeccompFilter("Name:\tnode\nSeccomp:\t2\nSeccomp_filters:\t1\n"), true);
  assert.equal(hasSeccompFilter("Name:\tnode\nSeccomp:\t0\nSeccomp_filters:\t0\n"), false);
});
