/**
 * Test fake: reading `x_example` frames off a raw socket (the peers in the XProtocol tests: RPC
 * servers and clients), with the codec itself doing the framing.
 */
import type { Socket } from 'node:net';
import type { XFrame } from '../../src/api/xprotocol.js';
import { XExampleCodec } from '../../src/extensions/codecs/x-example/x-example.js';

const LIMITS = { maxFrameBytes: 1 << 20 };

/** Calls `onFrame` for every whole frame the socket receives (frames own their bytes). */
export function onXExampleFrames(s: Socket, onFrame: (f: XFrame) => void): void {
  let rest = Buffer.alloc(0);
  s.on('data', (d: Buffer) => {
    rest = Buffer.concat([rest, d]);
    for (;;) {
      const r = XExampleCodec.decode(rest, 0, LIMITS);
      if (r.kind !== 0) break;
      rest = rest.subarray(r.consumed);
      onFrame({ ...r.frame, bytes: Buffer.from(r.frame.bytes) });
    }
  });
}

/** The payload of an x_example frame (after its header block). */
export function xPayload(f: XFrame): Buffer {
  return f.bytes.subarray(f.bytes.length - f.bytes.readUInt32BE(10));
}
