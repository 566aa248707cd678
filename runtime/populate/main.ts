/** cx-populate '<json PopulateRequest>': the overlay build step's entrypoint. */
import { populate, type PopulateRequest } from "./populate.js";

const arg = process.argv[2];
if (!arg) {
  process.stderr.write("usage: cx-populate '<json request>'\n");
  process.exit(2);
}
populate(JSON.parse(arg) as PopulateRequest).catch((err: unknown) => {
  process.stderr.write(`cx-populate: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
