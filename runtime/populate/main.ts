/** cx-populate (request in $CX_STEP_REQUEST): the app overlay build step's entrypoint. */
import { STEP_REQUEST_ENV } from "../../common/layout.js";
import { populate, type PopulateRequest } from "./populate.js";

const request = process.env[STEP_REQUEST_ENV];
if (!request) {
  process.stderr.write(`cx-populate: ${STEP_REQUEST_ENV} holds no request\n`);
  process.exit(2);
}
populate(JSON.parse(request) as PopulateRequest).catch((err: unknown) => {
  process.stderr.write(`cx-populate: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
