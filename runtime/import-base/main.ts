/** cx-import-base (request in $CX_STEP_REQUEST): a `base: { disk: … }` made into an OS base. */
import { readStepRequest, type ImportBaseRequest } from "../../common/step-requests.js";
import { importBase } from "./import-base.js";

Promise.resolve()
  .then(() => importBase(readStepRequest<ImportBaseRequest>()))
  .catch((err: unknown) => {
    process.stderr.write(`cx-import-base: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
