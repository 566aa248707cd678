/**
 * frontend.outline: what a build of one target takes from its caller, the
 * build args with their values and descriptions, and the secrets its run
 * steps ask for.
 */
import type { CxfileSpec } from "../cxfile/spec.js";
import { chooseStage } from "../plan/plan.js";
import { descriptionAbove, locationOf, table } from "./source.js";

export function outline(spec: CxfileSpec, text: string, target: string | undefined): { json: object; txt: string } {
  const described = (line: number) => descriptionAbove(text, line) || undefined;
  const { stages } = chooseStage(spec, target);
  const chosen = spec.targets.find((t) => t.name === target);
  const args = spec.args.map((a) => ({ name: a.name, value: a.value, description: described(a.pos.line), location: locationOf(a.pos) }));
  // A secret is listed once, where it is first read, and required if any step requires it.
  const uses = stages.flatMap((s) => s.run).flatMap((r) => r.secrets.map((secret) => ({ ...secret, pos: r.pos })));
  const secrets = [...new Set(uses.map((u) => u.id))].map((id) => {
    const mine = uses.filter((u) => u.id === id);
    return { name: id, ...(mine.some((u) => u.required) ? { required: true } : {}), location: locationOf(mine[0].pos) };
  });
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
