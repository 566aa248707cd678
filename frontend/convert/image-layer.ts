import { STANDARD_PATH } from "../../common/layout.js";
import type { Output } from "../llb/graph.js";
import { exec } from "../llb/ops.js";
import type { Platform } from "../plan/platform.js";

/**
 * Adds a directory as an image layer, with every time stamp in it set to the
 * build's epoch. BuildKit's file copy cannot do this: creating /cx/base
 * stamps /cx with the copy's wall-clock time, so each rerun of the step made
 * a layer with different bytes and two apps on one base could get different
 * base layers. Here a shell in the runtime copies onto a mount of the image
 * so far, whose changes are the new layer, and stamps the new files and
 * every directory above them.
 */
const OUT = "/cx-out";
const SRC = "/cx-src";
const SCRIPT = [
  "set -eu",
  `out=${OUT} dest="${OUT}$1" stamp="@$2"`,
  'mkdir -p "$dest"',
  `cp -a ${SRC}/. "$dest/"`,
  'find "$dest" -exec touch -h -d "$stamp" {} +',
  'dir=$(dirname "$dest")',
  'while [ "$dir" != "$out" ]; do touch -h -d "$stamp" "$dir"; dir=$(dirname "$dir"); done',
].join("\n");

export interface LayerSource {
  readonly from: Output;
  /** The directory in `from` whose contents become `dest`. */
  readonly dir: string;
}

export interface AddLayerOptions {
  /** The image so far: the new layer is what this step changes in it. */
  readonly onto: Output;
  readonly source: LayerSource;
  readonly dest: string;
  /** A filesystem with sh, cp, find and touch to run the copy in. */
  readonly tools: Output;
  /** Seconds since 1970 for every time stamp in the layer (SOURCE_DATE_EPOCH, else 0). */
  readonly epoch: number;
  readonly platform: Platform;
  readonly name: string;
}

export function addLayer(opts: AddLayerOptions): Output {
  const [layer] = exec({
    root: opts.tools,
    args: ["/bin/sh", "-c", SCRIPT, "cx-add-layer", opts.dest, String(opts.epoch)],
    env: [`PATH=${STANDARD_PATH}`],
    mounts: [
      { dest: OUT, from: opts.onto, output: true },
      { dest: SRC, from: opts.source.from, selector: opts.source.dir, readonly: true },
    ],
    platform: opts.platform,
    network: "none",
    name: opts.name,
  });
  return layer;
}
