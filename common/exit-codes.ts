/**
 * Exit code when the runtime, not the guest command, failed: `docker run`
 * uses 125 for its own errors; 126 and 127 stay the command's, as in Docker.
 * Build steps use it too, so the frontend can tell a failed guest command
 * from a failed step.
 */
export const RUNTIME_FAILURE = 125;
