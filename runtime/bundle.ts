/**
 * Bundles the runtime's programs (runtime/programs.ts) for the runtime image,
 * run in the Dockerfile's compile stage after tsc:
 *
 *   node dist/runtime/bundle.js OUT
 *
 * writes OUT/lib/<bundle> (esbuild: the compiled entry with everything it
 * imports, npm packages included, as one CommonJS script, the form a V8
 * startup snapshot is built from) and OUT/bin/<program>, its executable.
 * esbuild rather than a hand-written bundler: it resolves Node's module
 * rules, ESM-only packages (execa) and CommonJS interop correctly.
 */
import { build } from "esbuild";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleFile, programScript, RUNTIME_PROGRAMS } from "./programs.js";

const dist = dirname(dirname(fileURLToPath(import.meta.url)));

async function main(out: string): Promise<void> {
  await mkdir(join(out, "bin"), { recursive: true });
  await mkdir(join(out, "lib"), { recursive: true });
  for (const [name, program] of Object.entries(RUNTIME_PROGRAMS)) {
    await build({
      entryPoints: [join(dist, program.entry)],
      outfile: join(out, "lib", bundleFile(name, program)),
      bundle: true,
      platform: "node",
      format: "cjs",
      target: "node20",
      logLevel: "warning",
    });
    const bin = join(out, "bin", name);
    await writeFile(bin, programScript(name, program));
    await chmod(bin, 0o755);
  }
}

const [out] = process.argv.slice(2);
if (!out) {
  process.stderr.write("usage: node dist/runtime/bundle.js OUT\n");
  process.exit(2);
}
main(out).catch((err: unknown) => {
  process.stderr.write(`bundle: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
