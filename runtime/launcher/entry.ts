/**
 * cx-launch's entry, built into a V8 startup snapshot (runtime/programs.ts):
 * the snapshot holds the launcher loaded and compiled, and Node calls this
 * main when it deserializes it at the container's start. cx-launch passes the
 * container's arguments after `--`, so they start at argv[1]. Run as a plain
 * script (cx-launch does so when NODE_OPTIONS is set, which a snapshot
 * refuses), it launches at once with the script's arguments.
 */
import { startupSnapshot } from "node:v8";
import { launch } from "./main.js";

if (startupSnapshot.isBuildingSnapshot()) {
  startupSnapshot.setDeserializeMainFunction(() => launch(process.argv.slice(1)));
} else {
  launch(process.argv.slice(2));
}
