/** cx-populate (request in $CX_STEP_REQUEST): the app overlay build step's entrypoint. */
import { runStepMain, type PopulateRequest } from "../../common/step-requests.js";
import { populate } from "./populate.js";

runStepMain<PopulateRequest>("cx-populate", populate);
