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

/** A cache source BuildKit imports from, as the control API and SolveRequest.CacheImports spell it. */
export interface CacheImport {
  readonly Type: string;
  readonly Attrs: Readonly<Record<string, string>>;
}

/**
 * The build's --cache-from sources: buildx sends them as `cache-imports`
 * (JSON), older clients as `cache-from` (comma-separated registry refs).
 * A frontend must pass them to its own solves: BuildKit applies them only
 * to definitions solved through the gateway.
 */
export function cacheImports(opts: ReadonlyMap<string, string>): CacheImport[] {
  const imports: CacheImport[] = [];
  const json = opts.get("cache-imports");
  if (json) {
    const parsed: unknown = JSON.parse(json);
    if (!Array.isArray(parsed)) throw new Error(`cache-imports is not a list: ${json}`);
    for (const e of parsed as { Type?: string; type?: string; Attrs?: Record<string, string>; attrs?: Record<string, string> }[]) {
      const type = e.Type ?? e.type;
      if (!type) throw new Error(`a cache import without a type: ${JSON.stringify(e)}`);
      imports.push({ Type: type, Attrs: e.Attrs ?? e.attrs ?? {} });
    }
  }
  for (const ref of (opts.get("cache-from") ?? "").split(",").map((r) => r.trim()).filter(Boolean)) imports.push({ Type: "registry", Attrs: { ref } });
  return imports;
}

/** .dockerignore lines as BuildKit's local source takes them: comments and blanks dropped. */
export function dockerignorePatterns(text: string): string[] {
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
}
