/**
 * The launcher's end of the agent port. QEMU connects the guest's
 * virtio-serial port to a Unix socket the launcher listens on; the agent,
 * once it can take an app, says ready with its version. An agent resumed
 * from a build-time snapshot said so before the snapshot was taken, so it is
 * ready as soon as it connects. `docker run`, the build steps and the bench
 * all meet the agent here.
 */
import { createServer, type Server } from "node:net";
import { AgentLink } from "./link.js";
import { FRAME_TYPES, type Frame } from "./protocol.js";

export interface AgentHandlers {
  /** The agent can take the app's spec now; `version` is its ready text. */
  readonly ready: (link: AgentLink, version: string) => void;
  /** Every later frame of the app's channel. */
  readonly frame: (frame: Frame, link: AgentLink) => void;
  readonly protocolError: (message: string) => void;
}

/**
 * Listens on `socket` for the one connection from the guest's agent (start
 * QEMU once this resolves). `resumedAgent` is the version a resumed agent
 * said before its snapshot.
 */
export async function listenForAgent(socket: string, handlers: AgentHandlers, resumedAgent?: string): Promise<Server> {
  const server = createServer((sock) => {
    server.close();
    const link = new AgentLink(sock, handlers.protocolError);
    if (resumedAgent !== undefined) handlers.ready(link, resumedAgent);
    link.listen(0, (frame) => {
      if (frame.type === FRAME_TYPES.ready) handlers.ready(link, frame.payload.toString("utf8"));
      else handlers.frame(frame, link);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socket, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return server;
}
