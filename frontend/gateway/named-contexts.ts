/**
 * Named build contexts (`--build-context NAME=VALUE`), which buildx sends
 * as frontend opts `context:NAME`, keyed the way BuildKit's Dockerfile
 * frontend looks them up: by the familiar image name for an image (so
 * `containerx/minimal:aarch64` replaces the base of that name), optionally
 * per platform (`context:NAME::linux/arm64`).
 */
import { formatPlatform, type Platform } from "../plan/platform.js";
import { normalizeImageRef } from "../plan/image-ref.js";

/** Where a named context's files come from. */
export type NamedSource =
  | { readonly kind: "local"; readonly name: string; readonly sessionId: string }
  | { readonly kind: "image"; readonly ref: string }
  | { readonly kind: "http"; readonly url: string };

/** A --build-context value this frontend cannot use, said with what it can. */
export class NamedContextError extends Error {}

/** Docker's familiar form of an image name: docker.io/library/ and :latest dropped. */
export function familiarName(ref: string): string {
  return normalizeImageRef(ref).replace(/^docker\.io\/(library\/)?/, "").replace(/:latest(?=$|@)/, "");
}

function parseValue(name: string, value: string, opts: ReadonlyMap<string, string>, sessionId: string): NamedSource {
  if (value.startsWith("docker-image://")) return { kind: "image", ref: normalizeImageRef(value.slice("docker-image://".length)) };
  if (value.startsWith("local:")) {
    const local = value.slice("local:".length);
    return { kind: "local", name: local, sessionId: opts.get(`local-sessionid:${local}`) ?? sessionId };
  }
  if (/^https?:\/\//.test(value) && !/\.git(#|$)/.test(value)) return { kind: "http", url: value };
  throw new NamedContextError(`--build-context ${name}=${value}: Containerx takes a directory, docker-image://REF or an https:// file ` +
    "(not git, oci-layout or another build's output yet)");
}

/** The named context given for `name`, if any: the per-platform one first, as BuildKit looks. */
export function namedContext(opts: ReadonlyMap<string, string>, name: string, sessionId: string, platform?: Platform): NamedSource | undefined {
  const keys = [...new Set([name, familiarName(name)])].flatMap((n) => [...(platform ? [`context:${n}::${formatPlatform(platform)}`] : []), `context:${n}`]);
  const key = keys.find((k) => opts.has(k));
  return key === undefined ? undefined : parseValue(name, opts.get(key)!, opts, sessionId);
}

/** An image reference as the build pulls it: replaced when a named context of its familiar name says so. */
export function imageOverride(opts: ReadonlyMap<string, string>, ref: string, sessionId: string, platform?: Platform): string {
  const named = namedContext(opts, familiarName(ref), sessionId, platform);
  if (named === undefined) return ref;
  if (named.kind !== "image") throw new NamedContextError(`--build-context ${familiarName(ref)}: an image the build runs on can only be replaced by docker-image://REF`);
  return named.ref;
}

/** Where `copy: { from: NAME }` takes files: the named context, or else the image NAME, as COPY --from does. */
export function copySource(opts: ReadonlyMap<string, string>, from: string, sessionId: string, platform: Platform): NamedSource {
  return namedContext(opts, from, sessionId, platform) ?? { kind: "image", ref: normalizeImageRef(from) };
}
