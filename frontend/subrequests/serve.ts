/**
 * Subrequests: questions about a Cxfile that `docker buildx build
 * --print=NAME` (--call=NAME in later buildx) asks through the frontend opt
 * `requestid`. They are answered from the parsed Cxfile, with no build, in
 * the result metadata keys BuildKit's own frontends use.
 */
import type { CxfileSpec } from "../cxfile/spec.js";
import type { ErrorDetail } from "../gateway/client.js";
import { chooseStage } from "../plan/plan.js";
import { pb } from "../protos.js";
import { outline } from "./outline.js";
import { listTargets } from "./targets.js";

/** The subrequest protocol version buildx compares against (1.0.0: it formats result.json itself). */
const VERSION = "1.0.0";

interface Subrequest {
  readonly name: string;
  readonly description: string;
  readonly opts: readonly { readonly name: string; readonly description: string }[];
  readonly answer: (spec: CxfileSpec, text: string, target: string | undefined) => { json: object; txt: string };
}

const SUBREQUESTS: readonly Subrequest[] = [
  {
    name: "frontend.outline",
    description: "List the build args and secrets of a target, with their values and descriptions",
    opts: [{ name: "target", description: "Target to outline; the top level when absent" }],
    answer: outline,
  },
  {
    name: "frontend.targets",
    description: "List the targets the Cxfile declares",
    opts: [],
    answer: (spec, text) => listTargets(spec, text),
  },
];

const DESCRIBE = "frontend.subrequests.describe";

/** A request id this frontend does not serve: returned with BuildKit's errdefs.Subrequest detail. */
export class UnsupportedSubrequestError extends Error {
  constructor(readonly request: string) {
    super(`unsupported request ${request}: this frontend answers ${[DESCRIBE, ...SUBREQUESTS.map((s) => s.name)].join(", ")}`);
  }
}

/** The detail by which buildx knows the request is not served (and may ask another frontend). */
export const subrequestDetail = (request: string): ErrorDetail =>
  ({ typeUrl: "errdefs.Subrequest", value: pb.ErrorSubrequest.encode(pb.ErrorSubrequest.fromObject({ name: request })).finish() });

/** Whether a request id needs the Cxfile parsed (every one but describe). */
export const needsCxfile = (request: string) => request !== DESCRIBE;

function metadata(json: unknown, txt: string): Record<string, Buffer> {
  return { "result.json": Buffer.from(JSON.stringify(json, null, 2)), "result.txt": Buffer.from(txt), version: Buffer.from(VERSION) };
}

export function describe(): Record<string, Buffer> {
  const list = [
    { name: DESCRIBE, version: VERSION, type: "rpc", description: "List available subrequest types", opts: null, inputs: null,
      metadata: [{ name: "result.json" }], refs: null },
    ...SUBREQUESTS.map((s) => ({
      name: s.name, version: VERSION, type: "rpc", description: s.description, opts: s.opts.length ? s.opts : null, inputs: null,
      metadata: [{ name: "result.json" }, { name: "result.txt" }], refs: null,
    })),
  ];
  const txt = list.map((r) => `${r.name} ${r.version} ${r.description}`).join("\n") + "\n";
  return metadata(list, txt);
}

/** The answer to `request` about this Cxfile, as result metadata. */
export function answer(request: string, spec: CxfileSpec, text: string, target: string | undefined): Record<string, Buffer> {
  const sub = SUBREQUESTS.find((s) => s.name === request);
  if (!sub) throw new UnsupportedSubrequestError(request);
  chooseStage(spec, target);
  const { json, txt } = sub.answer(spec, text, target);
  return metadata(json, txt);
}
