import { createServer, type AddressInfo, type Socket } from "node:net";
import type { Readable, Writable } from "node:stream";

export interface Relay {
  /** host:port for the gRPC client to dial. */
  readonly target: string;
  close(): void;
}

/**
 * BuildKit serves the gateway API over the frontend's stdin/stdout, but
 * grpc-js always dials a socket itself. This listens on an ephemeral
 * loopback port and splices the one connection it accepts onto the pipes.
 * (A unix socket would do, but the frontend's root filesystem is read-only.)
 */
export async function relayStdio(input: Readable, output: Writable): Promise<Relay> {
  let accepted: Socket | undefined;
  const server = createServer({ allowHalfOpen: true }, (sock) => {
    server.close();
    accepted = sock;
    input.pipe(sock);
    sock.pipe(output);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  return {
    target: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      server.close();
      if (accepted) input.unpipe(accepted);
      accepted?.destroy();
    },
  };
}
