/** cx-populate (request in $CX_STEP_REQUEST): the app overlay build step's entrypoint. */
import { readStepRequest, type PopulateRequest } from "../../common/step-requests.js";
import { populate } from "./populate.js";

Promise.resolve()
  .then(() => populate(readStepRequest<PopulateRequest>()))
  .catch((err: unknown) => {
    process.stderr.write(`cx-populate: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
