/** cx-import-base (request in $CX_STEP_REQUEST): a `base: { disk: … }` made into an OS base. */
import { runStepMain, type ImportBaseRequest } from "../../common/step-requests.js";
import { importBase } from "./import-base.js";

runStepMain<ImportBaseRequest>("cx-import-base", importBase);
