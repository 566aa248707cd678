/**
 * Malformed Cxfiles for the parser's fuzz test and the schema's agreement
 * test: the valid sample below, mutated. Deterministic (seeded), so a
 * failure reproduces.
 */
export const CASES = 1500;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const VALID = `# syntax=containerx/frontend
args:
  V: "1"
base: minimal/aarch64
guest:
  cpus: 2
  memory: 512M
  disk_size: 2G
  qemu_args: ["-device", "virtio-rng-pci"]
run:
  - echo hi > /etc/hi
  - command: cat /run/secrets/token
    secrets: [token, { id: spare, required: false }]
copy:
  - app: /opt/app/app
  - src: "bin/*"
    dest: /usr/bin/
    mode: "0755"
    owner: "0:0"
  - from: assets
    src: img/a.png
    dest: /opt/img/
entrypoint: ["/opt/app/app"]
cmd: [x]
env:
  A: \${V}
workdir: /opt
user: app
expose: [80]
volumes: [/data]
healthcheck:
  test: [/bin/true]
  interval: 10s
labels:
  a: b
stop_signal: TERM
stop_timeout: 5
targets:
  t:
    cmd: [y]
`;

const NASTY_VALUES = [
  "", "~", "null", "[]", "{}", "[[[]]]", "{a: {b: {c: d}}}", "-1", "99999999999999999999", "1e309", "0x10", "0o777",
  "/..", "../x", "/a/../../b", '"\\0"', "'\\n'", "\"${\"", "${NOPE}", "${V:-}", "${}", "$${V}", "*", "[a", "?",
  "\"" + "x".repeat(70000) + "\"", "!!binary aGVsbG8=", "!!str", "&a 1", "*a", "<<: *a", "!!js/function 'f'",
  "2001-01-01", "true", "yes", ".inf", ".nan", "\"\\u0000\"", "|\n  block", ">-\n  folded", "[1, 2, 3]", "{src: a}",
  "- item", "'0755'", "0755", "SIGKILL", "65536", "-device", "[-monitor, stdio]", "[-device]", "80/sctp", "1h1h1h",
];
const KEYS = ["args", "base", "guest", "run", "copy", "entrypoint", "cmd", "env", "workdir", "user", "expose", "volumes",
  "healthcheck", "labels", "stop_signal", "stop_timeout", "targets", "cpus", "memory", "src", "dest", "mode", "owner",
  "test", "interval", "qemu_args", "machine", "bsae", "unknown", "t", "A", "V", "from", "command", "secrets", "id", "required", "disk_size"];

function mutate(text: string, r: () => number): string {
  const lines = text.split("\n");
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
  const i = Math.floor(r() * lines.length);
  switch (Math.floor(r() * 9)) {
    case 0: { // replace a value
      const m = /^(\s*(?:- )?[^:]+:\s*)(.*)$/.exec(lines[i]);
      lines[i] = m ? m[1] + pick(NASTY_VALUES) : pick(NASTY_VALUES);
      break;
    }
    case 1: // rename a key
      lines[i] = lines[i].replace(/^(\s*(?:- )?)[A-Za-z_]+:/, `$1${pick(KEYS)}:`);
      break;
    case 2: // break indentation
      lines[i] = " ".repeat(Math.floor(r() * 5)) + lines[i].trimStart();
      break;
    case 3: // drop a line
      lines.splice(i, 1);
      break;
    case 4: // duplicate a line
      lines.splice(i, 0, lines[i]);
      break;
    case 5: // insert random bytes
      lines[i] = lines[i].slice(0, Math.floor(r() * lines[i].length)) +
        String.fromCharCode(...Array.from({ length: 1 + Math.floor(r() * 4) }, () => Math.floor(r() * 128))) + lines[i].slice(Math.floor(r() * lines[i].length));
      break;
    case 6: // a huge list
      lines.splice(i, 0, `expose: [${Array.from({ length: 2000 }, (_, k) => k % 70000).join(", ")}]`);
      break;
    case 7: // add a key with a nasty value
      lines.splice(i, 0, `${pick(KEYS)}: ${pick(NASTY_VALUES)}`);
      break;
    default: // truncate
      return lines.join("\n").slice(0, Math.floor(r() * text.length));
  }
  return lines.join("\n");
}

/** The mutated Cxfiles, the same ones on every run. */
export function* fuzzCases(count: number = CASES): Generator<string> {
  const r = rng(20261122);
  for (let n = 0; n < count; n++) {
    let text = VALID;
    const rounds = 1 + Math.floor(r() * 3);
    for (let k = 0; k < rounds; k++) text = mutate(text, r);
    yield text;
  }
}
