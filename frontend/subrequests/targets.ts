/**
 * frontend.targets: what `--target` can name. The top level is the default
 * (built without --target) and has no name, as an unnamed Dockerfile stage.
 */
import type { CxfileSpec } from "../cxfile/spec.js";
import { descriptionAbove, locationOf, table, type JsonLocation } from "./source.js";

interface Target {
  readonly name?: string;
  readonly default?: boolean;
  readonly description?: string;
  readonly base: string;
  readonly location?: JsonLocation;
}

function baseName(spec: CxfileSpec): string {
  const b = spec.base;
  return b.kind === "named" ? `${b.flavour}/${b.arch}` : b.kind === "image" ? b.ref : `disk (${b.arch})`;
}

export function listTargets(spec: CxfileSpec, text: string): { json: object; txt: string } {
  const described = (line: number) => descriptionAbove(text, line) || undefined;
  const base = baseName(spec);
  const targets: Target[] = [
    { default: true, base, description: described(spec.base.pos.line) ?? "the top level of the Cxfile", location: locationOf(spec.base.pos) },
    ...spec.targets.map((t) => ({ name: t.name, base, description: described(t.pos.line), location: locationOf(t.pos) })),
  ];
  const rows = [["TARGET", "DESCRIPTION"], ...targets.map((t) => [t.name ? t.name : "(default)", t.description ?? ""])];
  return { json: { targets, sources: [Buffer.from(text).toString("base64")] }, txt: table(rows) };
}
