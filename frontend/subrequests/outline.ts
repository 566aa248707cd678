/**
 * frontend.outline: what a build of one target takes from its caller, the
 * build args with their values and descriptions, and the secrets its run
 * steps ask for.
 */
import type { CxfileSpec, StageSpec } from "../cxfile/spec.js";
import { descriptionAbove, locationOf, table } from "./source.js";

export function outline(spec: CxfileSpec, text: string, target: string | undefined): { json: object; txt: string } {
  const described = (line: number) => descriptionAbove(text, line) || undefined;
  const chosen = target === undefined ? undefined : spec.targets.find((t) => t.name === target);
  const stages: StageSpec[] = [spec.stage, ...(chosen ? [chosen] : [])];
  const args = spec.args.map((a) => ({ name: a.name, value: a.value, description: described(a.pos.line), location: locationOf(a.pos) }));
  const secrets = [...new Map(stages.flatMap((s) => s.run).flatMap((r) => r.secrets.map((secret) => [secret.id, {
    name: secret.id, ...(secret.required ? { required: true } : {}), location: locationOf(r.pos),
  }]))).values()];
  const json = {
    ...(chosen ? { name: chosen.name, description: described(chosen.pos.line) } : { description: described(spec.base.pos.line) }),
    ...(args.length ? { args } : {}),
    ...(secrets.length ? { secrets } : {}),
    sources: [Buffer.from(text).toString("base64")],
  };
  const parts = [`TARGET:      ${chosen ? chosen.name : "(default)"}\n`];
  if (json.description) parts.push(`DESCRIPTION: ${json.description}\n`);
  if (args.length) parts.push("\n" + table([["BUILD ARG", "VALUE", "DESCRIPTION"], ...args.map((a) => [a.name, a.value, a.description ?? ""])]));
  if (secrets.length) parts.push("\n" + table([["SECRET", "REQUIRED"], ...secrets.map((s) => [s.name, s.required ? "true" : ""])]));
  return { json, txt: parts.join("") };
}
