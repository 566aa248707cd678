/**
 * Just enough of a VNC client (RFB 3.8, RFC 6143) for the tests: no
 * security, the framebuffer read in raw encoding as 32-bit RGB, and key
 * events, as any VNC viewer sends them.
 */
import { connect, type Socket } from "node:net";

export interface Frame {
  readonly width: number;
  readonly height: number;
  /** RGB, three bytes a pixel, rows top to bottom. */
  readonly rgb: Buffer;
}

export class RfbClient {
  private buffered = Buffer.alloc(0);
  private wanted?: { bytes: number; resolve: (b: Buffer) => void; reject: (e: Error) => void };
  private ended?: Error;
  width = 0;
  height = 0;

  private constructor(private readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      this.deliver();
    });
    const end = (err?: Error) => {
      this.ended = err ?? new Error("the VNC server closed the connection");
      this.wanted?.reject(this.ended);
      this.wanted = undefined;
    };
    socket.on("error", end);
    socket.on("close", () => end());
  }

  private deliver(): void {
    if (!this.wanted || this.buffered.length < this.wanted.bytes) return;
    const { bytes, resolve } = this.wanted;
    this.wanted = undefined;
    const out = this.buffered.subarray(0, bytes);
    this.buffered = this.buffered.subarray(bytes);
    resolve(Buffer.from(out));
  }

  private read(bytes: number): Promise<Buffer> {
    if (this.ended && this.buffered.length < bytes) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => {
      this.wanted = { bytes, resolve, reject };
      this.deliver();
    });
  }

  /** Connects, agrees on RFB 3.8 without security, shares the screen, and asks for raw 32-bit RGB. */
  static async open(port: number, host = "127.0.0.1"): Promise<RfbClient> {
    const socket = connect(port, host);
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const c = new RfbClient(socket);
    const version = (await c.read(12)).toString("latin1");
    if (!version.startsWith("RFB 003.")) throw new Error(`not a VNC server: ${JSON.stringify(version)}`);
    socket.write("RFB 003.008\n");
    const types = await c.read((await c.read(1))[0]!);
    if (!types.includes(1)) throw new Error(`the server wants security (types ${[...types].join(", ")})`);
    socket.write(Buffer.from([1]));
    if ((await c.read(4)).readUInt32BE(0) !== 0) throw new Error("security handshake failed");
    socket.write(Buffer.from([1]));
    const init = await c.read(24);
    c.width = init.readUInt16BE(0);
    c.height = init.readUInt16BE(2);
    await c.read(init.readUInt32BE(20));
    const format = Buffer.alloc(20);
    format[0] = 0;
    // 32 bits a pixel, depth 24, little-endian, true colour, 255 each, red at bit 16, green 8, blue 0.
    Buffer.from([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0]).copy(format, 4);
    const encodings = Buffer.from([2, 0, 0, 1, 0, 0, 0, 0]);
    socket.write(Buffer.concat([format, encodings]));
    return c;
  }

  /** The whole screen as it is now. */
  async frame(): Promise<Frame> {
    const request = Buffer.alloc(10);
    request[0] = 3;
    request.writeUInt16BE(this.width, 6);
    request.writeUInt16BE(this.height, 8);
    this.socket.write(request);
    const rgb = Buffer.alloc(this.width * this.height * 3);
    for (;;) {
      const type = (await this.read(1))[0];
      if (type === 2) continue; // bell
      if (type !== 0) throw new Error(`unexpected VNC message ${type}`);
      const rects = (await this.read(3)).readUInt16BE(1);
      for (let r = 0; r < rects; r++) {
        const head = await this.read(12);
        const [x, y, w, h] = [0, 2, 4, 6].map((o) => head.readUInt16BE(o)) as [number, number, number, number];
        const encoding = head.readInt32BE(8);
        if (encoding !== 0) throw new Error(`unexpected VNC encoding ${encoding}`);
        const pixels = await this.read(w * h * 4);
        for (let row = 0; row < h; row++) {
          for (let col = 0; col < w; col++) {
            const p = pixels.readUInt32LE((row * w + col) * 4);
            const at = ((y + row) * this.width + x + col) * 3;
            rgb[at] = (p >> 16) & 255;
            rgb[at + 1] = (p >> 8) & 255;
            rgb[at + 2] = p & 255;
          }
        }
      }
      return { width: this.width, height: this.height, rgb };
    }
  }

  /** A key pressed and released, by its X keysym ('a' is 0x61). */
  key(keysym: number): void {
    const event = (down: number) => {
      const b = Buffer.alloc(8);
      b[0] = 4;
      b[1] = down;
      b.writeUInt32BE(keysym, 4);
      return b;
    };
    this.socket.write(Buffer.concat([event(1), event(0)]));
  }

  close(): void {
    this.socket.destroy();
  }
}

/** The frame as a binary PPM, for a person to look at. */
export const ppm = (f: Frame) => Buffer.concat([Buffer.from(`P6\n${f.width} ${f.height}\n255\n`), f.rgb]);
