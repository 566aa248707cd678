/**
 * The launcher's side of `docker exec CONTAINER cx-exec CMD`: cx-exec
 * connects to a Unix socket in the container and speaks the agent protocol
 * on channel 0; the relay gives each connection its own agent channel and
 * passes frames both ways. A 'Q' asks whether the app is running (health).
 */
import { chmod, rm } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import type { AgentLink } from "../agent/link.js";
import { encodeFrame, FRAME_TYPES, FrameDecoder, type Frame } from "../agent/protocol.js";
import { RUNTIME_FAILURE } from "../../common/exit-codes.js";

export class ExecRelay {
  private link: AgentLink | undefined;
  private readonly clients = new Set<Socket>();
  private readonly server: Server;

  constructor(private readonly socketPath: string) {
    this.server = createServer((sock) => this.serve(sock));
  }

  async start(): Promise<void> {
    await rm(this.socketPath, { force: true });
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.socketPath, resolve);
    });
    // docker exec -u may be another user than the launcher's.
    await chmod(this.socketPath, 0o777);
  }

  /** The app is running: exec sessions may start. */
  attach(link: AgentLink): void {
    this.link = link;
  }

  /** The guest is gone: sessions still open end with the runtime's failure code. */
  async stop(): Promise<void> {
    this.link = undefined;
    for (const sock of this.clients) refuse(sock, "the guest has stopped");
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.socketPath, { force: true });
  }

  private serve(sock: Socket): void {
    this.clients.add(sock);
    const decoder = new FrameDecoder();
    let channel: number | undefined;
    let finished = false;
    sock.on("close", () => {
      this.clients.delete(sock);
      // cx-exec went away mid-command: hang up on the guest process, like a closed terminal.
      if (channel !== undefined && !finished && this.link) {
        this.link.send(FRAME_TYPES.signal, channel, "HUP");
        this.link.close(channel);
      }
    });
    sock.on("error", () => undefined);
    sock.on("data", (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        refuse(sock, (err as Error).message);
        return;
      }
      for (const frame of frames) {
        const link = this.link;
        if (frame.type === FRAME_TYPES.status) {
          if (link) finish(sock, "running\n", 0);
          else refuse(sock, "the app has not started yet", 1);
        } else if (!link) {
          refuse(sock, "the guest app has not started yet; try again in a moment");
        } else if (frame.type === FRAME_TYPES.spec && channel === undefined) {
          channel = link.open((reply) => {
            if (reply.type === FRAME_TYPES.started) return;
            sock.write(encodeFrame(reply.type, 0, reply.payload));
            if (reply.type === FRAME_TYPES.exit) {
              finished = true;
              link.close(reply.channel);
              sock.end();
            }
          });
          link.send(FRAME_TYPES.spec, channel, frame.payload);
        } else if (channel !== undefined && (frame.type === FRAME_TYPES.stdin || frame.type === FRAME_TYPES.signal || frame.type === FRAME_TYPES.resize)) {
          link.send(frame.type, channel, frame.payload);
        } else {
          refuse(sock, `unexpected '${frame.type}' frame from cx-exec`);
        }
      }
    });
  }
}

function refuse(sock: Socket, message: string, code = RUNTIME_FAILURE): void {
  if (sock.destroyed) return;
  sock.write(encodeFrame(FRAME_TYPES.stderr, 0, `cx-exec: ${message}\n`));
  sock.end(encodeFrame(FRAME_TYPES.exit, 0, `exit ${code}`));
}

function finish(sock: Socket, out: string, code: number): void {
  sock.write(encodeFrame(FRAME_TYPES.stdout, 0, out));
  sock.end(encodeFrame(FRAME_TYPES.exit, 0, `exit ${code}`));
}
