import * as ws from 'ws';

interface FrameOptions {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
}

// ws exports its Sender at run time but @types/ws does not declare it.
const Sender = (ws as unknown as { Sender: { frame(data: Buffer, options: FrameOptions): Buffer[] } }).Sender;

const TEXT: FrameOptions = { fin: true, rsv1: false, opcode: 0x1, mask: false, readOnly: true };

/**
 * A complete server-to-client text frame (header + payload), built once by
 * ws's own framing. Server frames are never masked, so the same bytes are
 * valid on every socket: a broadcast frames once and writes N times.
 */
export function textFrame(payload: Buffer): Buffer {
  return Buffer.concat(Sender.frame(payload, TEXT));
}
