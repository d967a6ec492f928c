// What the monitor's reader thread and the main thread say to each other.
//
// The reader thread hands over what it read from one monitor socket as a batch: an ArrayBuffer
// (transferred, not copied) of records, each an 8-byte header — int32 status (0 or an errno),
// uint32 length — followed, for status 0, by a datagram of that length, padded to 4 bytes.
// A status record has no payload: ENOBUFS marks where the kernel dropped notifications; EMSGSIZE
// a datagram larger than the reader's buffer (its length is the datagram's), dropped.
import type { MessagePort } from 'node:worker_threads';

export const RECORD_HEADER = 8;

/** Main thread → reader thread (through `control`, followed by a write to the wake-up eventfd). */
export type Control =
  | {
      op: 'add';
      id: number;
      fd: number;
      /** Int32Array slots FLOW_PENDING and FLOW_PAUSED, shared with the main thread. */
      flow: SharedArrayBuffer;
      /** The reader stops reading the socket while this many bytes are pending. */
      maxPendingBytes: number;
    }
  | { op: 'remove'; id: number }
  | { op: 'stop' };

/** Reader thread → main thread. */
export type Report =
  | { op: 'batch'; id: number; data: ArrayBuffer }
  /** The reader no longer touches this socket: the main thread may close it. */
  | { op: 'removed'; id: number }
  /** Reading this socket failed for good (errno); the reader dropped it. */
  | { op: 'failed'; id: number; errno: number };

/** Bytes handed to the main thread and not yet decoded (added by the reader, subtracted by main). */
export const FLOW_PENDING = 0;
/** Non-zero: the main thread asked the reader to leave this socket alone for now. */
export const FLOW_PAUSED = 1;
export const FLOW_SLOTS = 2;

export interface ReaderData {
  /** eventfd the main thread writes to wake the reader out of poll(). */
  wakeFd: number;
  control: MessagePort;
  /** Int32Array[1]: non-zero when the process is exiting (the reader must return at once). */
  stop: SharedArrayBuffer;
}

/** Calls `datagram` or `status` for each record of a batch, in order. */
export function forEachRecord(
  data: Buffer,
  datagram: (d: Buffer) => void,
  status: (errno: number, length: number) => void,
): void {
  let off = 0;
  while (data.length - off >= RECORD_HEADER) {
    const errno = data.readInt32LE(off);
    const length = data.readUInt32LE(off + 4);
    off += RECORD_HEADER;
    if (errno !== 0) {
      status(errno, length);
      continue;
    }
    if (length > data.length - off) return; // cannot happen: the reader wrote it
    datagram(data.subarray(off, off + length));
    off += (length + 3) & ~3;
  }
}
