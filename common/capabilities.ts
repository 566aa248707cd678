import { readFile } from "node:fs/promises";

/** Linux capability numbers this project asks about. */
export const CAPABILITIES = { netBindService: 10, sysResource: 24 } as const;

/** Whether this process holds a capability in its effective set (/proc/self/status CapEff). */
export async function hasEffectiveCapability(cap: number): Promise<boolean> {
  const eff = /^CapEff:\s+([0-9a-f]+)$/m.exec(await readFile("/proc/self/status", "utf8"))?.[1] ?? "0";
  return (BigInt(`0x${eff}`) & (1n << BigInt(cap))) !== 0n;
}
