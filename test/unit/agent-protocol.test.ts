/** The agent protocol's two sides: guest-agent/protocol.h and agent-protocol.ts must hold the same values. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { AGENT_FEATURES, AGENT_VERSION, FRAME_HEADER_BYTES, FRAME_TYPES, guestStepsOf, MAX_FRAME, SPEC_TOKENS, TICK_PARAM } from "../../runtime/agent/protocol.js";

import { RUNTIME_FAILURE } from "../../common/exit-codes.js";

const HEADER_FILE = new URL("../../../guest-agent/protocol.h", import.meta.url);
const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();

test("protocol.h and agent-protocol.ts define the same frames, spec tokens, header size, frame limit, version and tick parameter", async () => {
  const header = await readFile(HEADER_FILE, "utf8");
  const chars = (prefix: string) => Object.fromEntries([...header.matchAll(new RegExp(`^#define CX_${prefix}_(\\w+) '(.)'`, "gm"))].map((m) => [m[1], m[2]]));
  const table = (t: Record<string, string>) => Object.fromEntries(Object.entries(t).map(([k, v]) => [snake(k), v]));
  assert.deepEqual(chars("FRAME"), table(Object.fromEntries(Object.entries(FRAME_TYPES).filter(([k]) => k !== "status"))),
    "every frame but the launcher's own status query");
  assert.deepEqual(chars("TOKEN"), table(SPEC_TOKENS));
  assert.match(header, new RegExp(`^#define CX_FRAME_HEADER ${FRAME_HEADER_BYTES}$`, "m"));
  assert.equal(eval(/^#define CX_MAX_FRAME \((\d+)u << (\d+)\)$/m.exec(header)!.slice(1).join(" << ")), MAX_FRAME);
  assert.match(header, new RegExp(`^#define CX_AGENT_VERSION "${AGENT_VERSION}"$`, "m"));
  assert.match(header, new RegExp(`^#define CX_TICK_PARAM "${TICK_PARAM}"$`, "m"));
  assert.match(header, new RegExp(`^#define CX_EXIT_NOT_STARTED ${RUNTIME_FAILURE}$`, "m"), "an app that cannot start as its user ends as docker run's own errors do");
  assert.ok(Number(AGENT_VERSION.split(" ")[1]) >= AGENT_FEATURES.seed, "the agent speaks every feature the launcher gates");
  const letters = [...Object.values(FRAME_TYPES)];
  assert.equal(new Set(letters).size, letters.length, "frame types are distinct");
});

test("the agent's C files take their protocol constants from protocol.h: no frame letter or header size written out", async () => {
  for (const file of ["agent.c", "protocol.c"]) {
    const source = await readFile(new URL(`../../../guest-agent/${file}`, import.meta.url), "utf8");
    assert.match(source, /^#include "protocol\.h"$/m, file);
    const code = source.replace(/\/\*[\s\S]*?\*\//g, "");
    assert.doesNotMatch(code, /send_frame(_on)?\([^,]*,?\s*'[A-Z]'/, `${file} sends frames by their CX_FRAME_ names`);
    assert.doesNotMatch(code, /case '[A-Z]':|== '[A-Z]'/, `${file} matches frames and tokens by their names`);
  }
});

test("the TypeScript side names its frames: no frame letter written out beside FRAME_TYPES", async () => {
  const root = new URL("../../../", import.meta.url);
  const sources = [];
  for (const dir of ["runtime", "bench"]) {
    for (const name of await readdir(new URL(dir, root), { recursive: true })) {
      if (name.endsWith(".ts") && `${dir}/${name}` !== "runtime/agent/protocol.ts") sources.push(`${dir}/${name}`);
    }
  }
  assert.ok(sources.includes("runtime/vm/session.ts"), "the run side's sources are read");
  for (const path of sources) {
    const code = (await readFile(new URL(path, root), "utf8")).replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
    assert.doesNotMatch(code, /\.type === "[A-Z]"|(send|encodeFrame)\("[A-Z]"|case "[A-Z]":/, `${path} names its frames by FRAME_TYPES`);
  }
});

test("a started frame's payload gives the guest's start steps in order; a bare PID gives none", () => {
  assert.deepEqual(guestStepsOf("231 parse=40 host=120 seed=900 mounts=0 fork=2100 exec=35012"), [
    { step: "parse", micros: 40 }, { step: "host", micros: 120 }, { step: "seed", micros: 900 },
    { step: "mounts", micros: 0 }, { step: "fork", micros: 2100 }, { step: "exec", micros: 35012 },
  ]);
  assert.deepEqual(guestStepsOf("231"), []);
  assert.deepEqual(guestStepsOf("231 fork=x exec=-1 odd"), []);
});

test("the agent reports the steps of a start it names in protocol.h, each timed once", async () => {
  const header = await readFile(new URL("../../../guest-agent/protocol.h", import.meta.url), "utf8");
  const agent = await readFile(new URL("../../../guest-agent/agent.c", import.meta.url), "utf8");
  const named = /CX_FRAME_STARTED 'P' \/\* .*\((?<steps>[a-z ]+)\)/.exec(header)?.groups?.steps.split(" ");
  const timed = [...agent.matchAll(/timing_step\([^,]+, "([a-z]+)"\)/g)].map((m) => m[1]);
  assert.deepEqual(timed.sort(), named?.sort());
});
