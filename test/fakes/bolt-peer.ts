/**
 * Test fakes: raw Bolt peers over real sockets (tool R of reliability.md): a scriptable Bolt server
 * that records its receipts, and a client that writes bytes as given and reads frames back — both
 * framed by Skiff's own codec.
 */
import net from 'node:net';
import type { XFrame } from '../../src/api/xprotocol.js';
import { XFrameKind } from '../../src/api/xprotocol.js';
import { BoltCmdCode, BoltType, boltFrameParts, decodeBolt, encodeBolt } from '../../src/extensions/codecs/bolt/bolt.js';

const LIMITS = { maxFrameBytes: 64 << 20 };

/** Calls `onFrame` for every whole Bolt frame the socket receives (frames own their bytes). */
export function onBoltFrames(s: net.Socket, onFrame: (f: XFrame) => void): void {
  let rest: Buffer = Buffer.alloc(0);
  s.on('data', (d: Buffer) => {
    rest = rest.length === 0 ? d : Buffer.concat([rest, d]);
    for (;;) {
      const r = decodeBolt(rest, 0, LIMITS);
      if (r.kind !== 0) break;
      rest = rest.subarray(r.consumed);
      onFrame({ ...r.frame, bytes: Buffer.from(r.frame.bytes) });
    }
  });
}

export const boltContent = (f: XFrame): string => boltFrameParts(f.bytes).content.toString();

export interface BoltServerOptions {
  /** Name prefixed to every echoed content (`name:content`). */
  readonly name: string;
  /** Delay before answering, ms (per request; content `slow` always waits this long). */
  readonly delayMs?: (f: XFrame) => number;
  /** Send a GoAway before the first response on each connection. */
  readonly goAwayBeforeResponse?: boolean;
  /** Answer in a random order within each read. */
  readonly shuffle?: boolean;
  /** Never answer heartbeats. */
  readonly silentHeartbeats?: boolean;
  /** Listen on this port (default: an ephemeral one). */
  readonly port?: number;
}

export interface BoltServer {
  readonly port: number;
  /** Accepted connections so far. */
  readonly accepted: number;
  /** Every request/oneway received (ids as seen upstream), heartbeats counted apart. */
  readonly receipts: XFrame[];
  readonly heartbeats: number;
  close(): Promise<void>;
}

/** A Bolt server answering each request with a response of the same id and `name:content`. */
export async function startBoltServer(o: BoltServerOptions): Promise<BoltServer> {
  const sockets = new Set<net.Socket>();
  const state = { port: 0, accepted: 0, receipts: [] as XFrame[], heartbeats: 0, close: async (): Promise<void> => undefined };
  const server = net.createServer((s) => {
    state.accepted++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    let goneAway = false;
    onBoltFrames(s, (f) => {
      if (f.kind === XFrameKind.HeartbeatRequest) {
        state.heartbeats++;
        if (!o.silentHeartbeats) s.write(encodeBolt({ type: BoltType.Response, cmdCode: BoltCmdCode.Heartbeat, requestId: f.requestId }));
        return;
      }
      if (f.kind !== XFrameKind.Request && f.kind !== XFrameKind.Oneway) return;
      state.receipts.push(f);
      if (f.kind === XFrameKind.Oneway) return;
      const answer = (): void => {
        if (s.destroyed) return;
        if (o.goAwayBeforeResponse === true && !goneAway) {
          goneAway = true;
          s.write(encodeBolt({ type: BoltType.Request, cmdCode: BoltCmdCode.GoAway, requestId: 0, timeoutMs: -1 }));
        }
        const version = f.bytes[0] === 2 ? 2 : 1;
        s.write(encodeBolt({ version, type: BoltType.Response, cmdCode: BoltCmdCode.Response, requestId: f.requestId, content: Buffer.from(`${o.name}:${boltContent(f)}`) }));
      };
      const delay = o.delayMs?.(f) ?? 0;
      if (delay > 0) setTimeout(answer, delay);
      else if (o.shuffle === true) setTimeout(answer, Math.floor(Math.random() * 20));
      else answer();
    });
  });
  await new Promise<void>((r) => server.listen(o.port ?? 0, '127.0.0.1', r));
  state.port = (server.address() as net.AddressInfo).port;
  state.close = async () => { for (const s of sockets) s.destroy(); await new Promise<void>((r) => server.close(() => r())); };
  return state;
}

export interface BoltClient {
  readonly socket: net.Socket;
  /** Every frame received, in order. */
  readonly frames: XFrame[];
  /** Whether the connection ended, and how. */
  readonly ended: { fin: boolean; reset: boolean; closed: boolean };
  write(bytes: Buffer): void;
  /** Sends a request and waits for the response with that id. */
  call(requestId: number, service: string, content: string, timeoutMs?: number): Promise<XFrame>;
  /** Waits until `pred` holds for the received frames (or the connection closed), up to `ms`. */
  until(pred: (frames: XFrame[]) => boolean, ms?: number): Promise<boolean>;
  close(): void;
}

export async function boltClient(port: number): Promise<BoltClient> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
  const frames: XFrame[] = [];
  const ended = { fin: false, reset: false, closed: false };
  socket.on('end', () => { ended.fin = true; });
  socket.on('error', () => { ended.reset = true; });
  socket.on('close', () => { ended.closed = true; });
  onBoltFrames(socket, (f) => frames.push(f));
  const until = async (pred: (fs: XFrame[]) => boolean, ms = 3000): Promise<boolean> => {
    const deadline = Date.now() + ms;
    while (!pred(frames)) {
      if (Date.now() > deadline || ended.closed) return pred(frames);
      await new Promise((r) => setTimeout(r, 5));
    }
    return true;
  };
  return {
    socket, frames, ended, until,
    write: (b) => { socket.write(b); },
    async call(requestId, service, content, timeoutMs = 3000) {
      socket.write(encodeBolt({ type: BoltType.Request, cmdCode: BoltCmdCode.Request, requestId, timeoutMs, headers: { service }, content: Buffer.from(content) }));
      const ok = await until((fs) => fs.some((f) => f.requestId === requestId && f.kind === XFrameKind.Response), timeoutMs + 2000);
      if (!ok) throw new Error(`no response to ${requestId}`);
      return frames.find((f) => f.requestId === requestId && f.kind === XFrameKind.Response)!;
    },
    close: () => socket.destroy(),
  };
}
