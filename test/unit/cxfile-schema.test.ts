import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { ALLOWED_QEMU_OPTIONS } from "../../common/qemu-options.js";
import { APP_KEYS, BASE_KEYS, COPY_KEYS, GUEST_KEYS, HEALTHCHECK_KEYS, RUN_KEYS, SECRET_KEYS, TOP_LEVEL_KEYS } from "../../frontend/cxfile/spec.js";

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
  assert.deepEqual(keys(runForm.properties.secrets.items.oneOf[1]), [...SECRET_KEYS].sort());
  for (const option of ALLOWED_QEMU_OPTIONS) assert.ok(schema.properties.guest.properties.qemu_args.description.includes(option));
});
