// NLMSG_ERROR (acks and errors, with extended-ack TLVs) and NLMSG_DONE payloads.
import { NetlinkDecodeError } from '../errors.js';
import {
  align4,
  type Message,
  NLMSG_HDRLEN,
  parseAttributes,
  readString,
  readU32,
} from './attributes.js';
import {
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
} from './constants.js';

/** The outcome carried by an NLMSG_ERROR or NLMSG_DONE message. */
export interface Status {
  /** 0 for success, otherwise a positive errno. */
  errno: number;
  /** Sequence number of the request this answers (NLMSG_ERROR only). */
  requestSeq?: number;
  kernelMessage?: string;
  attributeOffset?: number;
}

function extAck(msg: Message, tlvStart: number, out: Status): void {
  if (!(msg.flags & NLM_F_ACK_TLVS) || tlvStart >= msg.body.length) return;
  for (const a of parseAttributes(msg.body, tlvStart, msg.body.length, msg.offset + NLMSG_HDRLEN)) {
    if (a.type === NLMSGERR_ATTR_MSG) out.kernelMessage = readString(a);
    else if (a.type === NLMSGERR_ATTR_OFFS) out.attributeOffset = readU32(a, 'extended ack');
  }
}

/** Decodes `struct nlmsgerr` (an ack when errno is 0). */
export function parseErrorMessage(msg: Message): Status {
  if (msg.body.length < 4 + NLMSG_HDRLEN) {
    throw new NetlinkDecodeError(
      `NLMSG_ERROR needs ${4 + NLMSG_HDRLEN} bytes, has ${msg.body.length}`,
      msg.offset,
    );
  }
  const error = msg.body.readInt32LE(0);
  const out: Status = { errno: Math.abs(error), requestSeq: msg.body.readUInt32LE(4 + 8) };
  let tlvStart = 4 + NLMSG_HDRLEN;
  if (!(msg.flags & NLM_F_CAPPED)) {
    // The whole request is echoed back; the TLVs follow it.
    const requestLen = msg.body.readUInt32LE(4);
    if (requestLen < NLMSG_HDRLEN || requestLen > msg.body.length - 4) {
      throw new NetlinkDecodeError(
        `NLMSG_ERROR echoes a request of ${requestLen} bytes in ${msg.body.length - 4}`,
        msg.offset,
      );
    }
    tlvStart = 4 + align4(requestLen);
  }
  extAck(msg, tlvStart, out);
  return out;
}

/** Decodes the int status of NLMSG_DONE (an error ends a dump early). */
export function parseDoneMessage(msg: Message): Status {
  if (msg.body.length < 4) return { errno: 0 };
  const out: Status = { errno: Math.abs(msg.body.readInt32LE(0)) };
  extAck(msg, 4, out);
  return out;
}
