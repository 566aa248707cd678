/**
 * Every Cxfile the project shows is a Cxfile that works: each file named
 * Cxfile in the tree, and each fenced block in the README and docs/ that
 * starts with the `# syntax=` line, goes through the parser and the planner
 * with its default build args, and through docs/cxfile.schema.json with a
 * real JSON Schema validator, so an editor does not mark a correct file as
 * wrong. The README's sample is examples/tour/Cxfile, which the e2e suite
 * builds and runs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv2020 } from "ajv/dist/2020.js";
import yaml from "js-yaml";
import { parseCxfile } from "../../frontend/cxfile/parse.js";
import { planBuild } from "../../frontend/plan/plan.js";

const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const SKIP = new Set(["node_modules", "dist", ".git"]);
const opts = { hostPlatforms: [{ os: "linux", architecture: "amd64" }], buildPlatform: { os: "linux", architecture: "amd64" }, imagePrefix: "containerx/", runtimeTag: "latest" };

interface Sample { readonly where: string; readonly text: string }

async function cxfilesInTree(dir: string): Promise<Sample[]> {
  const found: Sample[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await cxfilesInTree(path)));
    else if (entry.name === "Cxfile") found.push({ where: relative(REPO, path), text: await readFile(path, "utf8") });
  }
  return found;
}

/** Fenced blocks whose first line is `# syntax=…`, named by file and the block's first line number. */
export function cxfileBlocks(markdown: string, file: string): Sample[] {
  const blocks: Sample[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*```/.test(lines[i]!)) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^\s*```/.test(lines[end]!)) end++;
    const body = lines.slice(start, end).join("\n") + "\n";
    if (/^# syntax=/.test(body)) blocks.push({ where: `${file}:${start + 1}`, text: body });
    i = end;
  }
  return blocks;
}

async function documentedSamples(): Promise<Sample[]> {
  const docs = (await readdir(join(REPO, "docs"))).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`);
  const samples: Sample[] = [];
  for (const file of ["README.md", ...docs]) samples.push(...cxfileBlocks(await readFile(join(REPO, file), "utf8"), file));
  return samples;
}

test("the fenced-block reader finds Cxfile blocks and nothing else", () => {
  const md = "text\n```yaml\n# syntax=containerx/frontend\nbase: minimal/arm\n```\n```\nCxfile:5\n```\n```yaml\nkey: value\n```\n";
  assert.deepEqual(cxfileBlocks(md, "x.md"), [{ where: "x.md:3", text: "# syntax=containerx/frontend\nbase: minimal/arm\n" }]);
});

test("every Cxfile in the tree, the README and docs/ parses, plans and passes the editor schema", async (t) => {
  const validate = new Ajv2020({ allErrors: true, strict: false }).compile(JSON.parse(await readFile(join(REPO, "docs/cxfile.schema.json"), "utf8")));
  const files = await cxfilesInTree(REPO);
  const documented = await documentedSamples();
  const samples = [...files, ...documented];
  for (const { where, text } of samples) {
    assert.match(text, /^# syntax=containerx\/frontend\n/, `${where}: the first line selects the frontend`);
    const spec = parseCxfile(text, where);
    const plan = planBuild(spec, opts);
    assert.ok(plan.arch, `${where}: planned for a guest arch`);
    const valid = validate(yaml.load(text));
    assert.ok(valid, `${where}: the schema rejects it: ${JSON.stringify(validate.errors)}`);
  }
  t.diagnostic(`checked ${samples.length} Cxfiles: ${files.length} files (${files.map((f) => f.where).join(", ")}) and ${documented.length} documented blocks (${documented.map((d) => d.where).join(", ")})`);
  assert.ok(files.length >= 7 && documented.length >= 3, "the walk found at least the samples known when this test was written");
});

test("the README's samples are examples/tour/Cxfile and examples/debug-app/Cxfile, byte for byte, so the ones the e2e suite builds are the ones printed", async () => {
  const readme = cxfileBlocks(await readFile(join(REPO, "README.md"), "utf8"), "README.md");
  for (const example of ["examples/tour/Cxfile", "examples/debug-app/Cxfile"]) {
    const text = await readFile(join(REPO, example), "utf8");
    assert.ok(readme.some((b) => b.text === text), `a README block equals ${example}`);
  }
});

test("the schema still rejects what the parser rejects: a wrong key, a malformed base", async () => {
  const validate = new Ajv2020({ strict: false }).compile(JSON.parse(await readFile(join(REPO, "docs/cxfile.schema.json"), "utf8")));
  assert.equal(validate(yaml.load("base: minimal/aarch64\ncpoy: []\n")), false);
  assert.equal(validate(yaml.load("base: minimal aarch64\n")), false);
  assert.equal(validate(yaml.load("base: debian/${ARCH}\n")), true);
  assert.equal(validate(yaml.load("base: ${FLAVOUR}/${ARCH:-aarch64}\n")), true);
});
