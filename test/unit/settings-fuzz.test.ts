/**
 * Every CX_* variable given generated bad values: the launcher's reader must
 * accept the value or throw a SettingsError whose message is one line naming
 * the variable, never another exception. Deterministic (seeded).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SETTINGS, SettingsError } from "../../common/settings.js";
import { settingsFromEnv } from "../../runtime/vm/settings.js";

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Values that have broken readers elsewhere: signs, units, huge numbers, JSON of the wrong shape, control characters. */
const SEEDS = ["", " ", "-1", "0", "1e3", "0x10", "99999999999999999999", "1.5G", "512Q", "NaN", "[]", "[1]", '["a",', "{}", "null",
  "a\nb", "\u0000", "tcg\n", "80/tcp 80/xyz", "65536", "0/udp", "-device", "virt;rm", "ünïcode", "../../etc", "a".repeat(5000)];

function mutate(next: () => number, text: string): string {
  const pick = (s: string) => s[Math.floor(next() * s.length)] ?? "";
  const alphabet = "0123456789MGKTkmgt/ ,.-_=[]{}\"':;\\\n\t\u0000é";
  const at = Math.floor(next() * (text.length + 1));
  switch (Math.floor(next() * 3)) {
    case 0: return text.slice(0, at) + pick(alphabet) + text.slice(at);
    case 1: return text.slice(0, at) + text.slice(at + 1);
    default: return text + SEEDS[Math.floor(next() * SEEDS.length)];
  }
}

test("every CX_* variable, given thousands of bad values, is read or refused in one line that names it", () => {
  const next = rng(22);
  let refused = 0;
  let n = 0;
  for (const { name } of Object.values(SETTINGS)) {
    const values = [...SEEDS];
    for (let i = 0; i < 300; i++) values.push(mutate(next, values[Math.floor(next() * values.length)]));
    for (const value of values) {
      n++;
      try {
        settingsFromEnv({ [name]: value });
      } catch (err) {
        if (!(err instanceof SettingsError)) assert.fail(`${name}=${JSON.stringify(value)} threw ${String(err)}`);
        assert.ok(!/[\n\r]/.test(err.message), `${name}=${JSON.stringify(value)}: one line, got ${JSON.stringify(err.message)}`);
        assert.ok(err.message.startsWith(name), `${name}=${JSON.stringify(value)}: the message starts with the variable: ${err.message}`);
        assert.ok(err.message.length < 400, `${name}=${JSON.stringify(value)}: a readable message, not the value again and again`);
        refused++;
      }
    }
  }
  assert.ok(refused > n / 4, `most values are refused somewhere (${refused} of ${n})`);
});
