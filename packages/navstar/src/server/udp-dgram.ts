// The portable UDP engine: one node:dgram socket on the main thread. Used where the batched engine
// cannot run (not Linux, no koffi) or when asked for.
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';

export class DgramUdp {
  private socket: dgram.Socket | undefined;
  port = 0;

  constructor(
    private readonly address: string,
    private readonly requestedPort: number,
    private readonly handle: (q: Buffer, reply: (r: Uint8Array | null) => void) => void,
    private readonly onSendError: () => void,
  ) {}

  async listen(): Promise<number> {
    const s = dgram.createSocket({
      type: isIPv6(this.address) ? 'udp6' : 'udp4',
      recvBufferSize: 4 << 20,
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(this.requestedPort, this.address, () => {
        s.off('error', reject);
        resolve();
      });
    });
    s.on('error', () => this.onSendError());
    s.on('message', (msg, rinfo) => {
      this.handle(msg, (r) => {
        if (r) s.send(r, rinfo.port, rinfo.address, (err) => err && this.onSendError());
      });
    });
    this.socket = s;
    this.port = s.address().port;
    return this.port;
  }

  close(): Promise<void> {
    const s = this.socket;
    this.socket = undefined;
    return new Promise((resolve) => (s ? s.close(() => resolve()) : resolve()));
  }
}
