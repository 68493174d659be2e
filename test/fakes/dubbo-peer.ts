/**
 * Test fakes: Dubbo peers over real sockets, for the Dubbo proxy tests. `startDubboProvider` is a
 * provider (server) framed by Skiff's own codec (`DubboCodec.decode`) whose arguments are decoded by
 * `hessian.js` and whose answers are hessian2 results that apache-dubbo-js understands (a value, or a
 * Java-exception-like object / a plain string it reports as an error); it can sleep per method and
 * records every receipt and accepted connection. `dubboRawClient` writes bytes as given and reads frames
 * back (raw-byte tests). `startDubboJsClient` builds a real apache-dubbo-js `DirectlyDubbo` pointed at one
 * address, taps the frames it receives (the library's errors hide the status byte), and closes it for
 * good (the library itself reconnects forever and keeps a 180 s heartbeat interval).
 *
 * apache-dubbo-js, hessian.js and js-to-java are CommonJS without types: the few members used are
 * declared here.
 */
import net from 'node:net';
import { createRequire } from 'node:module';
import { XFrameKind, type XFrame } from '../../src/api/xprotocol.js';
import { DUBBO_HEADER_BYTES, DubboCodec, DubboResultFlag, DubboStatus, encodeDubboResponse } from '../../src/extensions/codecs/dubbo/dubbo.js';
import { countDescriptorArgs } from '../../src/extensions/codecs/dubbo/hessian2-reader.js';

// ── the parts of the CommonJS libraries used here ──────────────────────────────────────────────────
interface HessianDecoder { read(): unknown }
interface HessianEncoder { write(v: unknown): unknown; get(): Buffer }
interface HessianModule {
  DecoderV2: new (buf: Buffer) => HessianDecoder;
  EncoderV2: new () => HessianEncoder;
}
type JavaWrap = (v: unknown) => unknown;
interface JavaModule { String: JavaWrap }
/** What a proxied method returns: apache-dubbo-js wraps every call in `go()` and never rejects. */
export interface DubboJsResult { readonly res: unknown; readonly err: Error | null }
type DubboJsMethod = (...args: string[]) => Promise<DubboJsResult>;
interface DubboJsSocketWorker {
  _retry: number;
  _retryTimeoutId?: NodeJS.Timeout;
  _heartBeatTimer?: NodeJS.Timeout;
  _socket?: net.Socket;
  readonly status: string;
  readonly _decodeBuff: { subscribe(fn: (frame: Buffer) => void): unknown };
  readonly _onSubscribeDecodeBuff: (frame: Buffer) => void;
}
interface DirectlyDubboInstance {
  readonly _socketWorker: DubboJsSocketWorker;
  proxyService(p: {
    dubboInterface: string;
    version?: string;
    group?: string;
    timeout?: number;
    methods: Record<string, (...args: string[]) => unknown[]>;
  }): Record<string, DubboJsMethod>;
}
interface DubboJsModule { DirectlyDubbo: { from(p: { dubboAddress: string; dubboVersion: string; dubboInvokeTimeout: number }): DirectlyDubboInstance } }

const require = createRequire(import.meta.url);
const hessian = require('hessian.js') as HessianModule;
const java = require('js-to-java') as JavaModule;
const dubboJs = require('apache-dubbo-js') as DubboJsModule;

const LIMITS = { maxFrameBytes: 64 << 20 };

/** A whole Dubbo frame as received: the decoded parts plus the flag byte (bit 7 request, bit 5 event). */
export interface DubboWireFrame extends XFrame {
  readonly flag: number;
}

/**
 * Calls `onFrame` for every whole Dubbo frame the socket receives (frames own their bytes). A request
 * the codec refuses (kind 3) is still delivered, as `refused`; bytes that are not Dubbo stop the reader.
 */
export function onDubboFrames(s: net.Socket, onFrame: (f: DubboWireFrame, refused: boolean) => void): void {
  let rest: Buffer = Buffer.alloc(0);
  s.on('data', (d: Buffer) => {
    rest = rest.length === 0 ? d : Buffer.concat([rest, d]);
    for (;;) {
      const r = DubboCodec.decode(rest, 0, LIMITS);
      if (r.kind === 1) break;
      if (r.kind === 2) { rest = Buffer.alloc(0); break; }
      const bytes = Buffer.from(r.frame.bytes);
      rest = rest.subarray(r.consumed);
      onFrame({ ...r.frame, bytes, flag: bytes[2]! }, r.kind === 3);
    }
  });
}

/** The value of an OK response (hessian.js reads the body after the result flag), or the error text. */
export function dubboResult(f: XFrame): { flag: number; value: unknown } {
  const body = f.bytes.subarray(DUBBO_HEADER_BYTES);
  if (f.status !== DubboStatus.Ok) return { flag: -1, value: body.toString() };
  const d = new hessian.DecoderV2(Buffer.from(body));
  const flag = d.read() as number;
  return { flag, value: flag === DubboResultFlag.NullValue ? null : d.read() };
}

// ── provider ────────────────────────────────────────────────────────────────────────────────────────
export interface DubboReceipt {
  /** The id as seen upstream (Skiff's own). */
  readonly requestId: number;
  readonly service: string;
  readonly method: string;
  readonly version: string | undefined;
  readonly group: string | undefined;
  readonly args: readonly unknown[];
  readonly attachments: unknown;
}

export interface DubboProviderOptions {
  /** Returned by `whoami` and prefixed to every answer. */
  readonly name: string;
  /** Default 0 (any free port); a restart passes the port it had. */
  readonly port?: number;
  /** Delay before answering a method, ms. */
  readonly sleepMs?: Readonly<Record<string, number>>;
}

export interface DubboProvider {
  readonly name: string;
  readonly port: number;
  /** TCP connections accepted (Skiff's upstream connections). */
  readonly accepted: number;
  /** Every request received, in arrival order (heartbeats counted apart). */
  readonly receipts: DubboReceipt[];
  readonly heartbeats: number;
  /** Requests whose body hessian.js could not read, or that the codec refused. */
  readonly undecodable: number;
  /** Stops listening, destroys every accepted connection and drops pending (sleeping) answers. */
  close(): Promise<void>;
}

/** `{ detailMessage }` of a java.lang class: hessian.js (apache-dubbo-js's decoder) turns it into an Error. */
function exceptionBody(value: unknown): Buffer {
  const e = new hessian.EncoderV2();
  e.write(DubboResultFlag.Exception);
  e.write(value);
  return e.get();
}

function valueBody(value: string): Buffer {
  const e = new hessian.EncoderV2();
  e.write(DubboResultFlag.Value);
  e.write(value);
  return e.get();
}

/** Reads the request body with hessian.js: the arguments (after the descriptor) and the attachments. */
function readInvocation(body: Buffer): { args: unknown[]; attachments: unknown } {
  const d = new hessian.DecoderV2(body);
  d.read(); // dubbo version
  d.read(); // path
  d.read(); // version
  d.read(); // method
  let desc = d.read();
  if (typeof desc === 'number') desc = d.read(); // dubbox marker
  const argc = countDescriptorArgs(String(desc));
  const args: unknown[] = [];
  for (let i = 0; i < argc; i++) args.push(d.read());
  return { args, attachments: d.read() };
}

/**
 * A provider answering every method of every service:
 *   whoami()    → "<name>"
 *   fail(msg)   → an exception result: java.lang.IllegalStateException { detailMessage: msg }
 *   failText(m) → an exception result that is a plain hessian string m
 *   anything else (x…) → "<name>:<method>:<x,…>"
 */
export async function startDubboProvider(o: DubboProviderOptions): Promise<DubboProvider> {
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const state = { accepted: 0, heartbeats: 0, undecodable: 0, receipts: [] as DubboReceipt[] };
  const server = net.createServer((s) => {
    state.accepted++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    onDubboFrames(s, (f, refused) => {
      if (f.kind === XFrameKind.HeartbeatRequest) {
        state.heartbeats++;
        s.write(DubboCodec.encodeHeartbeatResponse(f));
        return;
      }
      if (f.kind !== XFrameKind.Request && f.kind !== XFrameKind.Oneway) return;
      let invocation: { args: unknown[]; attachments: unknown };
      try {
        if (refused) throw new Error('refused by the codec');
        invocation = readInvocation(f.bytes.subarray(DUBBO_HEADER_BYTES));
      } catch {
        state.undecodable++;
        if (f.kind === XFrameKind.Request) s.write(encodeDubboResponse(f.requestId, DubboStatus.BadRequest, Buffer.from('undecodable')));
        return;
      }
      const method = f.headers.get('method') ?? '';
      const { args } = invocation;
      state.receipts.push({
        requestId: f.requestId,
        service: f.headers.get('service') ?? '',
        method,
        version: f.headers.get('version'),
        group: f.headers.get('group'),
        args,
        attachments: invocation.attachments,
      });
      if (f.kind === XFrameKind.Oneway) return;
      const body = method === 'whoami' ? valueBody(o.name)
        : method === 'fail' ? exceptionBody({ $class: 'java.lang.IllegalStateException', $: { detailMessage: String(args[0]) } })
          : method === 'failText' ? exceptionBody(String(args[0]))
            : valueBody(`${o.name}:${method}:${args.map(String).join(',')}`);
      const answer = (): void => { if (!s.destroyed) s.write(encodeDubboResponse(f.requestId, DubboStatus.Ok, body)); };
      const delay = o.sleepMs?.[method] ?? 0;
      if (delay <= 0) { answer(); return; }
      const t = setTimeout(() => { timers.delete(t); answer(); }, delay);
      timers.add(t);
    });
  });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(o.port ?? 0, '127.0.0.1', resolve); });
  const port = (server.address() as net.AddressInfo).port;
  return {
    name: o.name,
    port,
    get accepted() { return state.accepted; },
    get heartbeats() { return state.heartbeats; },
    get undecodable() { return state.undecodable; },
    receipts: state.receipts,
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

// ── raw client ──────────────────────────────────────────────────────────────────────────────────────
export interface DubboRawClient {
  readonly socket: net.Socket;
  /** Every frame received, in order. */
  readonly frames: DubboWireFrame[];
  readonly ended: { fin: boolean; reset: boolean; closed: boolean };
  write(bytes: Buffer): void;
  /** Waits until `pred` holds for the received frames (or the connection closed), up to `ms`. */
  until(pred: (frames: DubboWireFrame[]) => boolean, ms?: number): Promise<boolean>;
  /** Waits for the response with this id. */
  response(requestId: number, ms?: number): Promise<DubboWireFrame>;
  close(): void;
}

export async function dubboRawClient(port: number): Promise<DubboRawClient> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
  const frames: DubboWireFrame[] = [];
  const ended = { fin: false, reset: false, closed: false };
  socket.on('end', () => { ended.fin = true; });
  socket.on('error', () => { ended.reset = true; });
  socket.on('close', () => { ended.closed = true; });
  onDubboFrames(socket, (f) => frames.push(f));
  const until = async (pred: (fs: DubboWireFrame[]) => boolean, ms = 3000): Promise<boolean> => {
    const deadline = Date.now() + ms;
    while (!pred(frames)) {
      if (Date.now() > deadline || ended.closed) return pred(frames);
      await new Promise((r) => setTimeout(r, 5));
    }
    return true;
  };
  const isAnswer = (id: number) => (f: DubboWireFrame): boolean => f.requestId === id && (f.flag & 0x80) === 0;
  return {
    socket, frames, ended, until,
    write: (b) => { socket.write(b); },
    async response(requestId, ms = 3000) {
      if (!(await until((fs) => fs.some(isAnswer(requestId)), ms))) throw new Error(`no response to ${requestId}`);
      return frames.find(isAnswer(requestId))!;
    },
    close: () => socket.destroy(),
  };
}

// ── apache-dubbo-js client ──────────────────────────────────────────────────────────────────────────
export interface DubboJsServiceOptions {
  readonly dubboInterface: string;
  readonly version?: string;
  readonly group?: string;
  /** Method names; each takes strings, sent as `java.String(x)`. */
  readonly methods: readonly string[];
}

export interface DubboJsClient {
  /** A proxied service: `svc.echo('x')` resolves `{ res, err }` (apache-dubbo-js never rejects). */
  service(o: DubboJsServiceOptions): Record<string, DubboJsMethod>;
  /** Every frame the library received (responses and heartbeats), in order: the status byte lives here. */
  readonly frames: DubboWireFrame[];
  /** Ends the library's socket for good (no reconnect, no heartbeat timer) and waits for the close. */
  close(): Promise<void>;
}

/** A DirectlyDubbo (`dubboAddress: 127.0.0.1:<port>`); `invokeTimeoutS` is the library's own per-call timeout. */
export function startDubboJsClient(port: number, invokeTimeoutS = 10): DubboJsClient {
  const dubbo = dubboJs.DirectlyDubbo.from({ dubboAddress: `127.0.0.1:${port}`, dubboVersion: '2.0.2', dubboInvokeTimeout: invokeTimeoutS });
  const worker = dubbo._socketWorker;
  const frames: DubboWireFrame[] = [];
  const original = worker._onSubscribeDecodeBuff;
  worker._decodeBuff.subscribe((frame: Buffer) => {
    const r = DubboCodec.decode(frame, 0, LIMITS);
    if (r.kind === 0 || r.kind === 3) frames.push({ ...r.frame, bytes: Buffer.from(r.frame.bytes), flag: frame[2]! });
    original(frame);
  });
  return {
    frames,
    service(o) {
      const methods: Record<string, (...args: string[]) => unknown[]> = {};
      for (const m of o.methods) methods[m] = (...args: string[]) => args.map((a) => java.String(a));
      return dubbo.proxyService({
        dubboInterface: o.dubboInterface,
        methods,
        ...(o.version !== undefined ? { version: o.version } : {}),
        ...(o.group !== undefined ? { group: o.group } : {}),
      });
    },
    async close() {
      worker._retry = 0;
      clearTimeout(worker._retryTimeoutId);
      clearInterval(worker._heartBeatTimer);
      const socket = worker._socket;
      if (socket === undefined || socket.destroyed) return;
      const closed = new Promise<void>((r) => socket.once('close', () => r()));
      socket.destroy();
      await closed;
    },
  };
}
