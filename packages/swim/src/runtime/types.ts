// The boundary between the protocol (pure state machines) and the world: clocks, randomness,
// timers, datagrams and reliable streams. `NetRuntime` implements it with real sockets, the
// simulator with a virtual clock and a lossy in-memory network.

export interface Timer {
  cancel(): void;
}

/** A reliable, ordered, message-framed connection (TCP in real life). */
export interface StreamConn {
  /** The peer's address, "ip:port". */
  readonly remote: string;
  send(frame: Uint8Array): void;
  close(): void;
}

/** What receives the frames of one stream. `closed` is called exactly once. */
export interface StreamHandler {
  frame(data: Uint8Array): void;
  closed(error?: Error): void;
}

export interface RuntimeHandlers {
  packet(from: string, data: Uint8Array): void;
  /** A peer opened a stream; returns who reads it. */
  stream(conn: StreamConn): StreamHandler;
}

export interface Runtime {
  /** The address other members reach this one at, "ip:port" (UDP and TCP share it). */
  readonly address: string;
  /** Monotonic milliseconds, for timeouts and ages. */
  now(): number;
  /** Milliseconds since the Unix epoch, for hybrid logical clocks and boot stamps. */
  wallClock(): number;
  random(): number;
  setTimer(ms: number, fn: () => void): Timer;
  sendPacket(to: string, data: Uint8Array): void;
  /** Opens a stream; failures (refused, timeout) arrive as `handler.closed(error)`. */
  connect(to: string, handler: StreamHandler): StreamConn;
  /** Turns "host:port" with a host name into "ip:port" (optional: IP-only runtimes omit it). */
  resolve?(addr: string): Promise<string>;
  /** Starts delivering incoming packets and streams. */
  listen(handlers: RuntimeHandlers): void;
  close(): Promise<void>;
}
