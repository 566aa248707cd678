/**
 * Docker's predefined proxy build args: the build gives them to `run` steps
 * without their being declared, and keeps them out of the image config and
 * the cache key (LLB's Meta.proxy_env), as BuildKit does for Dockerfiles.
 * Each is honoured in either case; the lower-case spelling wins.
 */
export const PROXY_VARIABLES = ["http_proxy", "https_proxy", "ftp_proxy", "no_proxy", "all_proxy"] as const;

export type ProxyVariable = (typeof PROXY_VARIABLES)[number];
export type ProxyEnv = Partial<Record<ProxyVariable, string>>;

/** The proxy settings among `vars` (build args, or a process environment). */
export function proxyEnv(vars: ReadonlyMap<string, string> | NodeJS.ProcessEnv): ProxyEnv {
  const entries: [string, string | undefined][] = vars instanceof Map ? [...vars] : Object.entries(vars as NodeJS.ProcessEnv);
  const out: ProxyEnv = {};
  // Upper case first, so the lower-case spelling overrides it.
  for (const [name, value] of entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const key = name.toLowerCase() as ProxyVariable;
    if (PROXY_VARIABLES.includes(key) && value !== undefined && value !== "") out[key] = value;
  }
  return out;
}

/** Both spellings, as programs in the guest look for either. */
export const proxyEnvLines = (proxy: ProxyEnv): string[] =>
  Object.entries(proxy).flatMap(([k, v]) => [`${k.toUpperCase()}=${v}`, `${k}=${v}`]);

export const isProxyVariable = (name: string) => (PROXY_VARIABLES as readonly string[]).includes(name.toLowerCase());
