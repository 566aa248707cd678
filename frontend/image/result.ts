/**
 * The Result handed back to BuildKit: one image, or a platform map (refs,
 * refs.platforms and a config per platform) as buildx asks for several
 * platforms, in the keys BuildKit's image exporter reads.
 */
import type { Result } from "../gateway/client.js";
import { formatPlatform, ociPlatform, type Platform } from "../plan/platform.js";

/** One host platform's solved image. */
export interface PlatformImage {
  readonly host: Platform;
  readonly ref: string;
  /** The OCI image config, as JSON. */
  readonly config: Buffer;
}

/**
 * `annotations` are manifest annotations without the `annotation.` prefix;
 * with no platform in their key the exporter puts them on every platform's
 * manifest.
 */
export function buildResult(images: readonly PlatformImage[], annotations: Readonly<Record<string, string>>, platformMap: boolean): Result {
  const metadata: Record<string, Buffer> = Object.fromEntries(
    Object.entries(annotations).map(([key, value]) => [`annotation.${key}`, Buffer.from(value)]));
  if (!platformMap) {
    const [only] = images;
    if (!only || images.length > 1) throw new Error(`one image expected without a platform map, got ${images.length}`);
    return { ref: only.ref, metadata: { ...metadata, "containerimage.config": only.config } };
  }
  const platforms = images.map((i) => ({ ID: formatPlatform(i.host), Platform: ociPlatform(i.host) }));
  return {
    refs: Object.fromEntries(images.map((i) => [formatPlatform(i.host), i.ref])),
    metadata: {
      ...metadata,
      ...Object.fromEntries(images.map((i) => [`containerimage.config/${formatPlatform(i.host)}`, i.config])),
      "refs.platforms": Buffer.from(JSON.stringify({ Platforms: platforms })),
    },
  };
}
