import { createHash } from "node:crypto";
import { pb } from "../protos.js";
import type { Pos } from "../cxfile/errors.js";
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
  /**
   * Where in the source file (the Cxfile) this op comes from, 1-based:
   * BuildKit shows those lines when it fails, and echoes them back, columns
   * included, which tells apart entries that share a line.
   */
  readonly positions?: readonly Pos[];
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

/** The file vertices' `positions` point into. */
export interface SourceFile {
  readonly filename: string;
  readonly text: string;
  readonly language: string;
}

type SourceRange = { start: { line: number; character: number }; end: { line: number; character: number } };
type SourceMap = { locations: Record<string, { locations: { sourceIndex: number; ranges: SourceRange[] }[] }>; infos: object[] };

export interface Marshalled {
  /** pb.Definition as a plain object, ready for the gateway's Solve. */
  readonly definition: {
    def: Uint8Array[];
    metadata: Record<string, { description: Record<string, string>; ignore_cache?: boolean }>;
    Source?: SourceMap;
  };
  /** Digest of the terminal op: stable for the same graph. */
  readonly digest: string;
  /** Digest of the result's own op: the vertex progress shows. */
  readonly head: string;
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
export function marshal(result: Output, opts: { ignoreCache?: boolean; source?: SourceFile } = {}): Marshalled {
  const defs: Uint8Array[] = [];
  const metadata: Marshalled["definition"]["metadata"] = {};
  const locations: SourceMap["locations"] = {};
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
      if (opts.source && v.positions?.length) {
        const ranges = v.positions.map((p) => ({ start: { line: p.line, character: p.column }, end: { line: p.line, character: p.column } }));
        locations[digest] = { locations: [{ sourceIndex: 0, ranges }] };
      }
    }
    return digest;
  };
  const top = visit(result.vertex);
  const terminal = pb.Op.encode(pb.Op.fromObject({ inputs: [{ digest: top, index: result.index }] })).finish();
  defs.push(terminal);
  const source = opts.source && Object.keys(locations).length ? {
    Source: {
      locations: sortedMap(locations),
      infos: [{ filename: opts.source.filename, data: Buffer.from(opts.source.text, "utf8"), language: opts.source.language }],
    },
  } : {};
  return { definition: { def: defs, metadata: sortedMap(metadata), ...source }, digest: digestOf(terminal), head: top };
}
