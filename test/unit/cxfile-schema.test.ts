import { test } from "node:test";
import { Ajv2020 } from "ajv/dist/2020.js";
import yaml from "js-yaml";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { ALLOWED_QEMU_OPTIONS } from "../../common/qemu-options.js";
import { parseCxfile } from "../../frontend/cxfile/parse.js";
import { planBuild } from "../../frontend/plan/plan.js";
import { fuzzCases } from "./cxfile-cases.js";
import { APP_KEYS, BASE_KEYS, COPY_KEYS, GUEST_KEYS, HEALTHCHECK_KEYS, RUN_KEYS, SECRET_KEYS, TOP_LEVEL_KEYS } from "../../frontend/cxfile/spec.js";

const amd64 = { os: "linux", architecture: "amd64" };
const SCHEMA = fileURLToPath(new URL("../../../docs/cxfile.schema.json", import.meta.url));

test("the editor schema names exactly the keys the parser accepts", async () => {
  const schema = JSON.parse(await readFile(SCHEMA, "utf8"));
  const keys = (o: { properties: object }) => Object.keys(o.properties).sort();
  assert.deepEqual(keys(schema), [...TOP_LEVEL_KEYS].sort());
  assert.deepEqual(keys(schema.properties.guest), [...GUEST_KEYS].sort());
  const baseForms = schema.properties.base.oneOf.filter((f: { properties?: object }) => f.properties);
  assert.deepEqual([...new Set(baseForms.flatMap(keys))].sort(), [...BASE_KEYS].sort());
  assert.deepEqual(keys(schema.$defs.target), [...APP_KEYS].sort());
  assert.deepEqual(keys(schema.$defs.copy.items.oneOf[1]), [...COPY_KEYS].sort());
  assert.deepEqual(keys(schema.$defs.healthcheck.oneOf[1]), [...HEALTHCHECK_KEYS].sort());
  const runForm = schema.$defs.run.items.oneOf[1];
  assert.deepEqual(keys(runForm), [...RUN_KEYS].sort());
  assert.deepEqual(keys(runForm.properties.secrets.oneOf[1].items.oneOf[1]), [...SECRET_KEYS].sort());
  for (const option of ALLOWED_QEMU_OPTIONS) assert.ok(schema.properties.guest.properties.qemu_args.description.includes(option));
});

/**
 * What only the parser can check: a value's `${…}` references against the
 * args declared, QEMU options against the allow-list, signal names, and
 * base names against the arch table. The schema leaves these to the build;
 * everything else they decide alike.
 */
const PARSER_ONLY = [
  /is not declared under args/, /has no closing '\}'|is not a valid reference/,
  /is not an option Containerx passes through to QEMU|needs a value|is used by the runtime/,
  /is not a signal/, /unknown base '/,
];

test("the schema and the parser agree on every fuzz case: no valid Cxfile flagged, nothing invalid passed but the parser-only checks", async () => {
  const validate = new Ajv2020({ strict: false }).compile(JSON.parse(await readFile(SCHEMA, "utf8")));
  const planOpts = { hostPlatforms: [amd64], buildPlatform: amd64, imagePrefix: "containerx/", runtimeTag: "latest" };
  const tally = { both: 0, neither: 0, parserOnly: 0 };
  let n = 0;
  for (const text of fuzzCases()) {
    n++;
    let parsed: string | undefined;
    try {
      planBuild(parseCxfile(text, "Cxfile"), planOpts);
    } catch (err) {
      parsed = (err as Error).message;
    }
    let doc: unknown;
    try {
      doc = yaml.load(text);
    } catch {
      doc = undefined;
    }
    const valid = doc !== undefined && validate(doc);
    if (parsed === undefined) {
      assert.ok(valid, `case ${n}: the build takes it, the schema flags ${JSON.stringify(validate.errors?.[0])}\n${text.slice(0, 1500)}`);
      tally.both++;
    } else if (!valid) {
      tally.neither++;
    } else {
      assert.ok(PARSER_ONLY.some((re) => re.test(parsed!)), `case ${n}: the schema passes what the parser refuses: ${parsed}\n${text.slice(0, 1500)}`);
      tally.parserOnly++;
    }
  }
  assert.ok(tally.both > 0 && tally.neither > 0, JSON.stringify(tally));
});
