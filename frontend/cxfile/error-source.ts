import { pb } from "../protos.js";
import type { ErrorDetail } from "../gateway/client.js";
import { CXFILE_LANGUAGE, type CxfileError } from "./errors.js";

/**
 * The error detail that makes `docker buildx build` print the Cxfile lines
 * around a CxfileError, as it does for Dockerfile errors.
 */
export function errorSourceDetail(err: CxfileError): ErrorDetail | undefined {
  if (!err.pos || err.sourceText === undefined) return undefined;
  const at = { line: err.pos.line, character: err.pos.column };
  const source = { info: { filename: err.file, data: Buffer.from(err.sourceText, "utf8"), language: CXFILE_LANGUAGE }, ranges: [{ start: at, end: at }] };
  return { typeUrl: "errdefs.Source", value: pb.ErrorSource.encode(pb.ErrorSource.fromObject(source)).finish() };
}
