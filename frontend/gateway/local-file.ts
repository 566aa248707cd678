import { marshal } from "../llb/graph.js";
import { local } from "../llb/ops.js";
import type { Gateway } from "./client.js";

/** A file of a local source, and the digest of the op that read it (for warnings about it). */
export async function readLocalFile(gateway: Gateway, name: string, sessionId: string, path: string, display: string): Promise<{ data?: Buffer; op: string }> {
  const source = marshal(local(name, { sessionId, includePatterns: [path], sharedKeyHint: path }, display));
  const ref = await gateway.solve(source.definition);
  return { data: await gateway.readFile(ref, path).catch(() => undefined), op: source.head };
}
