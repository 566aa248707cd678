/**
 * Reading the app's program in the guest before the snapshot is saved. A
 * resumed guest's first start of the app otherwise reads it through the
 * emulated disk (measured on hello: the first exec of its 700 KB program took
 * 140-190 ms in a resumed guest, the second 10-20 ms). An exec session of the
 * agent runs the guest's sh to find the program as the app's command would and
 * read it whole, so the saved guest has it in its page cache. Best effort: a
 * guest without sh, or a program that is not there, is saved as it is.
 */
import type { WarmRequest } from "../../common/step-requests.js";
import type { AgentLink } from "../agent/link.js";
import { encodeSpec, exitCodeOf, FRAME_TYPES, type ProcessSpec } from "../agent/protocol.js";

export function warmSpec(warm: WarmRequest): ProcessSpec {
  return { argv: ["/bin/sh", "-c", 'p=$(command -v -- "$1") && cat -- "$p" >/dev/null', "sh", warm.program], env: warm.env, cwd: warm.cwd };
}

/** Runs warmSpec on a channel of its own and resolves with its exit code once the session has ended in the guest. */
export function warmProgram(link: AgentLink, warm: WarmRequest): Promise<number> {
  return new Promise((resolve) => {
    const channel = link.open((frame) => {
      if (frame.type !== FRAME_TYPES.exit) return;
      link.close(channel);
      resolve(exitCodeOf(frame.payload.toString("utf8")));
    });
    link.write(encodeSpec(warmSpec(warm), channel));
  });
}
