import { createHash } from "node:crypto";
import { pb } from "../protos.js";
import type { Platform } from "../plan/platform.js";

/** The body of one LLB op: exactly one of source, exec or file, as plain objects. */
export type OpBody = { source: object } | { exec: object } | { file: object };

/** One LLB op and the outputs of other ops it reads. Immutable. */
export interface Vertex {
  readonly body: OpBody;
  readonly inputs: readonly Output[];
  readonly platform?: Platform;
  /** Shown as the step's name in `docker buildx build` progress. */
  readonly name: string;
}

/** An output (a filesystem) of a vertex. */
export interface Output {
  readonly vertex: Vertex;
  readonly index: number;
}

/** Copies a string map with its keys sorted, so encodings are byte-stable. */
export function sortedMap<T>(map: Readonly<Record<string, T>>): Record<string, T> {
  return Object.fromEntries(Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export interface Marshalled {
  /** pb.Definition as a plain object, ready for the gateway's Solve. */
  readonly definition: { def: Uint8Array[]; metadata: Record<string, { description: Record<string, string>; ignore_cache?: boolean }> };
  /** Digest of the terminal op: stable for the same graph. */
  readonly digest: string;
}

const digestOf = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

function encodeOp(v: Vertex, inputDigests: readonly { digest: string; index: number }[]): Uint8Array {
  const op: Record<string, unknown> = { inputs: inputDigests, ...v.body };
  if (v.platform) {
    op.platform = { Architecture: v.platform.architecture, OS: v.platform.os, ...(v.platform.variant ? { Variant: v.platform.variant } : {}) };
  }
  const err = pb.Op.verify(op);
  if (err) throw new Error(`invalid LLB op '${v.name}': ${err}`);
  return pb.Op.encode(pb.Op.fromObject(op)).finish();
}

/**
 * Serialises the graph below `result` into a Definition: dependencies first,
 * each op once, and a final input-only op that names the result (BuildKit
 * takes the last op as the terminal). `ignoreCache` (--no-cache) marks every
 * op so BuildKit runs it again.
 */
export function marshal(result: Output, opts: { ignoreCache?: boolean } = {}): Marshalled {
  const defs: Uint8Array[] = [];
  const metadata: Marshalled["definition"]["metadata"] = {};
  const done = new Map<Vertex, string>();
  const visit = (v: Vertex): string => {
    const known = done.get(v);
    if (known) return known;
    const inputs = v.inputs.map((o) => ({ digest: visit(o.vertex), index: o.index }));
    const bytes = encodeOp(v, inputs);
    const digest = digestOf(bytes);
    done.set(v, digest);
    if (!(digest in metadata)) {
      defs.push(bytes);
      metadata[digest] = { description: { "llb.customname": v.name }, ...(opts.ignoreCache ? { ignore_cache: true } : {}) };
    }
    return digest;
  };
  const top = visit(result.vertex);
  const terminal = pb.Op.encode(pb.Op.fromObject({ inputs: [{ digest: top, index: result.index }] })).finish();
  defs.push(terminal);
  return { definition: { def: defs, metadata: sortedMap(metadata) }, digest: digestOf(terminal) };
}
