import { test } from "node:test";
import assert from "node:assert/strict";
import { parseCxfile } from "../../frontend/cxfile/parse.js";
import { CxfileError } from "../../frontend/cxfile/errors.js";

const ok = `# syntax=containerx/frontend
base: minimal/aarch64
copy:
  - hello: /opt/hello/hello
  - src: conf
    dest: /etc/app/
    mode: "0644"
entrypoint: ["/opt/hello/hello", "world"]
cmd: echo hi
env:
  GREETING: hello
  COUNT: 3
workdir: /opt/hello
`;

function errorOf(text: string): CxfileError {
  try {
    parseCxfile(text, "Cxfile");
  } catch (err) {
    assert.ok(err instanceof CxfileError, `expected CxfileError, got ${String(err)}`);
    return err;
  }
  assert.fail("expected the Cxfile to be rejected");
}

test("parses every key of a valid Cxfile into typed values", () => {
  const spec = parseCxfile(ok, "Cxfile");
  assert.equal(spec.base.name, "minimal/aarch64");
  assert.deepEqual(spec.base.pos, { line: 2, column: 7 });
  assert.deepEqual(spec.copy.map(({ src, dest, mode }) => ({ src, dest, mode })), [
    { src: "hello", dest: "/opt/hello/hello", mode: undefined },
    { src: "conf", dest: "/etc/app/", mode: 0o644 },
  ]);
  assert.deepEqual(spec.entrypoint, ["/opt/hello/hello", "world"]);
  assert.deepEqual(spec.cmd, ["/bin/sh", "-c", "echo hi"]);
  assert.deepEqual(spec.env, { GREETING: "hello", COUNT: "3" });
  assert.equal(spec.workdir, "/opt/hello");
});

test("an unknown key is reported at its line with a suggestion", () => {
  const err = errorOf("base: minimal/aarch64\ncpoy:\n  - a: /a\n");
  assert.deepEqual(err.pos, { line: 2, column: 1 });
  assert.match(err.message, /^Cxfile:2:1: unknown key 'cpoy'.*did you mean 'copy'\?/);
});

test("a misspelt key inside a copy entry points at that key", () => {
  const err = errorOf("base: minimal/aarch64\ncopy:\n  - src: a\n    dset: /b\n");
  assert.deepEqual(err.pos, { line: 4, column: 5 });
  assert.match(err.message, /did you mean 'dest'/);
});

test("bad YAML is reported with the parser's position", () => {
  const err = errorOf("base: [minimal\n");
  assert.match(err.message, /^Cxfile:\d+:\d+: invalid YAML/);
});

test("paths are checked: guest paths absolute, context paths inside the context", () => {
  assert.match(errorOf("base: minimal/aarch64\ncopy:\n  - a: relative\n").message, /3:8: .*must be an absolute guest path/);
  assert.match(errorOf("base: minimal/aarch64\ncopy:\n  - ../secret: /x\n").message, /3:5: .*inside the build context/);
  assert.match(errorOf("base: minimal/aarch64\ncopy:\n  - /etc/passwd: /x\n").message, /inside the build context/);
});

test("an unquoted octal mode is refused with the fix", () => {
  const err = errorOf("base: minimal/aarch64\ncopy:\n  - src: a\n    dest: /a\n    mode: 0755\n");
  assert.match(err.message, /5:11: mode must be an octal string.*quote it/);
});

test("base is required, and reserved env names are refused", () => {
  assert.match(errorOf("copy: []\n").message, /missing 'base'/);
  assert.match(errorOf("base: minimal/aarch64\nenv:\n  CX_ACCEL: kvm\n").message, /3:3: .*reserved/);
  assert.match(errorOf("").message, /empty/);
});
