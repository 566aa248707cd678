import { createConnection, type Socket } from "node:net";

interface QmpMessage {
  readonly QMP?: unknown;
  readonly return?: unknown;
  readonly error?: { readonly desc: string };
  readonly event?: string;
  readonly data?: Record<string, unknown>;
}

export type QmpEventListener = (event: string, data: Record<string, unknown>) => void;

/**
 * A connection to QEMU's monitor (QMP): QMP answers a connection with a
 * greeting and wants `qmp_capabilities` first, then gives one reply per
 * command, in order, as JSON lines interleaved with asynchronous events
 * (given to the listeners of onEvent).
 */
export class QmpSession {
  private buffered = "";
  private readonly waiting: { resolve: (value: unknown) => void; reject: (err: Error) => void; execute: string }[] = [];
  private closedWith?: Error;
  private readonly listeners: QmpEventListener[] = [];

  private constructor(private readonly conn: Socket) {
    conn.on("data", (chunk: Buffer) => {
      this.buffered += chunk.toString("utf8");
      let nl: number;
      while ((nl = this.buffered.indexOf("\n")) >= 0) {
        const message = JSON.parse(this.buffered.slice(0, nl)) as QmpMessage;
        this.buffered = this.buffered.slice(nl + 1);
        if (message.event) for (const listener of this.listeners) listener(message.event, message.data ?? {});
        if (message.QMP || message.event) continue;
        const waiter = this.waiting.shift();
        if (!waiter) continue;
        if (message.error) waiter.reject(new Error(`QMP ${waiter.execute}: ${message.error.desc}`));
        else waiter.resolve(message.return);
      }
    });
    const fail = (err: Error) => {
      this.closedWith ??= err;
      for (const waiter of this.waiting.splice(0)) waiter.reject(new Error(`QMP ${waiter.execute}: ${err.message}`));
    };
    conn.on("error", fail);
    conn.on("close", () => fail(new Error("QEMU closed the monitor")));
  }

  static async connect(socket: string): Promise<QmpSession> {
    const conn = createConnection(socket);
    await new Promise<void>((resolve, reject) => {
      conn.once("connect", resolve);
      conn.once("error", reject);
    });
    const session = new QmpSession(conn);
    await session.execute("qmp_capabilities");
    return session;
  }

  /** Connects as soon as QEMU listens on `socket`; gives up once `gone` settles (QEMU ended). */
  static async connectWhenUp(socket: string, gone: Promise<unknown>): Promise<QmpSession> {
    let ended = false;
    void gone.finally(() => (ended = true));
    for (;;) {
      try {
        return await QmpSession.connect(socket);
      } catch (err) {
        if (ended) throw new Error(`QMP: QEMU ended before its monitor answered (${(err as Error).message})`);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    }
  }

  onEvent(listener: QmpEventListener): void {
    this.listeners.push(listener);
  }

  execute<T = unknown>(execute: string, args?: Record<string, unknown>): Promise<T> {
    if (this.closedWith) return Promise.reject(new Error(`QMP ${execute}: ${this.closedWith.message}`));
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({ resolve: resolve as (value: unknown) => void, reject, execute });
      this.conn.write(`${JSON.stringify({ execute, ...(args ? { arguments: args } : {}) })}\n`);
    });
  }

  close(): void {
    this.conn.end();
  }
}

/** Runs one QMP command on QEMU's monitor socket, giving up after `timeoutMs`. */
export async function qmpCommand(socket: string, execute: string, timeoutMs = 3000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`QMP ${execute}: no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  let session: QmpSession | undefined;
  try {
    await Promise.race([(async () => {
      session = await QmpSession.connect(socket);
      await session.execute(execute);
    })(), timeout]);
  } catch (err) {
    throw err instanceof Error && err.message.startsWith("QMP ") ? err : new Error(`QMP ${execute}: ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
    session?.close();
  }
}
