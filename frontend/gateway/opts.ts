/** Frontend options BuildKit passes as BUILDKIT_FRONTEND_OPT_<n>=key=value. */
export function frontendOpts(env: NodeJS.ProcessEnv): Map<string, string> {
  const opts = new Map<string, string>();
  const keys = Object.keys(env).filter((k) => /^BUILDKIT_FRONTEND_OPT_\d+$/.test(k));
  keys.sort((a, b) => Number(a.slice(22)) - Number(b.slice(22)));
  for (const k of keys) {
    const v = env[k]!;
    const eq = v.indexOf("=");
    if (eq > 0) opts.set(v.slice(0, eq), v.slice(eq + 1));
  }
  return opts;
}

/** The opts under a prefix, e.g. "build-arg:" for --build-arg or "label:" for --label. */
export function prefixedOpts(opts: ReadonlyMap<string, string>, prefix: string): Map<string, string> {
  return new Map([...opts].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
}

/**
 * The first platform of the first worker, as BUILDKIT_WORKERS reports it:
 * OCI's lower-case keys up to BuildKit v0.8 (Docker 20.10), pb.Platform's
 * capitalised ones later.
 */
export function workerPlatform(env: NodeJS.ProcessEnv): { os: string; architecture: string; variant?: string } | undefined {
  type Reported = { OS?: string; Architecture?: string; Variant?: string; os?: string; architecture?: string; variant?: string };
  try {
    const workers = JSON.parse(env.BUILDKIT_WORKERS ?? "[]") as { Platforms?: Reported[] }[];
    const p = workers[0]?.Platforms?.[0];
    const os = p?.OS ?? p?.os;
    const architecture = p?.Architecture ?? p?.architecture;
    const variant = p?.Variant ?? p?.variant;
    return os && architecture ? { os, architecture, ...(variant ? { variant } : {}) } : undefined;
  } catch {
    return undefined;
  }
}

/** .dockerignore lines as BuildKit's local source takes them: comments and blanks dropped. */
export function dockerignorePatterns(text: string): string[] {
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
}
