/**
 * Test fake: a real gRPC peer (@grpc/grpc-js) for the proxy tests — an echo service with the four call
 * kinds and a client factory, both with Buffer pass-through serializers (no protos). Behaviour is chosen
 * per call by request metadata, so one server serves every test:
 *
 *   x-peer-delay-ms: N      wait N ms before answering (unary, client-stream) or before each message
 *   x-peer-fail-code: C     end the call with status C (after the delay / after reading the request)
 *   x-peer-fail-message: M  its details (x-peer-fail-message-bin: UTF-8 bytes, for text metadata can't carry)
 *   x-peer-early-headers: 1 send the initial metadata at once (else with the first message or the status)
 *   x-peer-count: N         server-stream: messages to send (default 3; -1 = until cancelled)
 *
 * Every call answers with initial metadata `x-peer-method` and `x-peer-saw-<name>` for each received
 * `x-echo-*` key (text and -bin; any such key also sends it at once), and trailing metadata
 * `x-peer-trailer: done` + `x-peer-trailer-bin`.
 * The server records each call (method, metadata) and each cancellation it sees (`call.on('cancelled')`:
 * the client's RST_STREAM reached it). Pending timers are cleared when a call is cancelled or the peer
 * closes, so nothing keeps the process alive.
 */
import {
  credentials, makeGenericClientConstructor, Metadata, Server, ServerCredentials, status as Status,
  type ClientDuplexStream, type ClientReadableStream, type ClientWritableStream, type MethodDefinition,
  type ServerDuplexStream, type ServerReadableStream, type ServerUnaryCall, type ServerWritableStream,
  type Client,
  type ServiceError, type StatusObject, type CallOptions, type ChannelOptions, type sendUnaryData,
} from '@grpc/grpc-js';

export const SERVICE_NAME = 'skiff.test.Echo';

const pass = (b: Buffer): Buffer => b;
function method(name: string, requestStream: boolean, responseStream: boolean): MethodDefinition<Buffer, Buffer> {
  return {
    path: `/${SERVICE_NAME}/${name}`, requestStream, responseStream,
    requestSerialize: pass, requestDeserialize: pass, responseSerialize: pass, responseDeserialize: pass, originalName: name,
  };
}

/** The service: keys are the client's method names. */
export const echoService = {
  unary: method('Unary', false, false),
  serverStream: method('ServerStream', false, true),
  clientStream: method('ClientStream', true, false),
  bidi: method('Bidi', true, true),
} as const;

export type MethodName = keyof typeof echoService;

export interface SeenCall {
  readonly method: MethodName;
  readonly metadata: Metadata;
  readonly atMs: number;
}

export interface SeenCancel {
  readonly method: MethodName;
  readonly atMs: number;
}

type AnyServerCall =
  | ServerUnaryCall<Buffer, Buffer> | ServerWritableStream<Buffer, Buffer>
  | ServerReadableStream<Buffer, Buffer> | ServerDuplexStream<Buffer, Buffer>;

/** Initial metadata not sent yet, sent right before the first message or the status. */
const pendingHeaders = new WeakMap<AnyServerCall, Metadata>();
function flushHeaders(call: AnyServerCall): void {
  const h = pendingHeaders.get(call);
  if (h === undefined) return;
  pendingHeaders.delete(call);
  call.sendMetadata(h);
}

/**
 * Calls the handler has ended (status sent). grpc-js emits 'cancelled' on every stream close, even after
 * a normal end; only a close before the handler's status is a cancellation.
 */
const finishedCalls = new WeakSet<AnyServerCall>();

interface Behaviour {
  readonly delayMs: number;
  readonly failCode: number | undefined;
  readonly failMessage: string;
  readonly count: number;
}

function text(md: Metadata, key: string): string | undefined {
  const v = md.get(key)[0];
  return v === undefined ? undefined : v.toString();
}

function behaviourOf(md: Metadata): Behaviour {
  const fail = text(md, 'x-peer-fail-code');
  return {
    delayMs: Number(text(md, 'x-peer-delay-ms') ?? 0),
    failCode: fail === undefined ? undefined : Number(fail),
    failMessage: md.get('x-peer-fail-message-bin')[0]?.toString('utf8') ?? text(md, 'x-peer-fail-message') ?? '',
    count: Number(text(md, 'x-peer-count') ?? 3),
  };
}

function trailers(): Metadata {
  const t = new Metadata();
  t.set('x-peer-trailer', 'done');
  t.set('x-peer-trailer-bin', Buffer.from([0, 1, 2, 0xff]));
  return t;
}

function failure(b: Behaviour): Partial<StatusObject> & { code: number } {
  return { code: b.failCode!, details: b.failMessage, metadata: trailers() };
}

export class GrpcPeer {
  readonly #server: Server;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #cancelWaiters: (() => void)[] = [];
  /** Calls in arrival order. */
  readonly calls: SeenCall[] = [];
  /** Calls closed before the server ended them (RST_STREAM from the client side, or the server's own deadline). */
  readonly cancels: SeenCancel[] = [];
  readonly port: number;

  private constructor(server: Server, port: number) {
    this.#server = server;
    this.port = port;
  }

  get address(): string { return `127.0.0.1:${this.port}`; }

  static async start(): Promise<GrpcPeer> {
    const server = new Server();
    let peer: GrpcPeer | undefined;
    const self = (): GrpcPeer => peer!;
    server.addService(echoService, {
      unary: (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => self().#unary(call, cb),
      serverStream: (call: ServerWritableStream<Buffer, Buffer>) => self().#serverStream(call),
      clientStream: (call: ServerReadableStream<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => self().#clientStream(call, cb),
      bidi: (call: ServerDuplexStream<Buffer, Buffer>) => self().#bidi(call),
    });
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
    });
    peer = new GrpcPeer(server, port);
    return peer;
  }

  /** Resolves once the server has seen `n` cancellations (rejects after `timeoutMs`). */
  async waitForCancels(n: number, timeoutMs = 3000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.cancels.length < n) {
      const left = until - Date.now();
      if (left <= 0) throw new Error(`server saw ${this.cancels.length} cancellations, wanted ${n}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#cancelWaiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  #later(ms: number, f: () => void): NodeJS.Timeout {
    const t = setTimeout(() => { this.#timers.delete(t); f(); }, ms);
    this.#timers.add(t);
    return t;
  }

  #clear(t: NodeJS.Timeout | undefined): void {
    if (t === undefined) return;
    clearTimeout(t);
    this.#timers.delete(t);
  }

  /** Records the call, sends the initial metadata and watches for cancellation. */
  #begin(name: MethodName, call: AnyServerCall, onCancel: () => void): Behaviour {
    const md = call.metadata;
    this.calls.push({ method: name, metadata: md.clone(), atMs: Date.now() });
    const out = new Metadata();
    out.set('x-peer-method', name);
    let early = md.get('x-peer-early-headers').length > 0;
    for (const key of Object.keys(md.getMap())) {
      if (!key.startsWith('x-echo-')) continue;
      early = true;
      for (const v of md.get(key)) out.add(`x-peer-saw-${key.slice('x-echo-'.length)}`, v);
    }
    // grpc-js writes HEADERS as soon as sendMetadata is called: later, unless asked for now.
    if (early) call.sendMetadata(out);
    else pendingHeaders.set(call, out);
    (call as NodeJS.EventEmitter).on('cancelled', () => {
      if (finishedCalls.has(call)) return;
      this.cancels.push({ method: name, atMs: Date.now() });
      onCancel();
      for (const w of this.#cancelWaiters.splice(0)) w();
    });
    return behaviourOf(md);
  }

  #unary(call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>): void {
    let timer: NodeJS.Timeout | undefined;
    const b = this.#begin('unary', call, () => this.#clear(timer));
    const answer = (): void => {
      if (call.cancelled) return;
      flushHeaders(call);
      finishedCalls.add(call);
      if (b.failCode !== undefined) cb(failure(b));
      else cb(null, call.request, trailers());
    };
    if (b.delayMs > 0) timer = this.#later(b.delayMs, answer);
    else answer();
  }

  #serverStream(call: ServerWritableStream<Buffer, Buffer>): void {
    let timer: NodeJS.Timeout | undefined;
    const b = this.#begin('serverStream', call, () => this.#clear(timer));
    let i = 0;
    const step = (): void => {
      timer = undefined;
      if (call.cancelled) return;
      flushHeaders(call);
      if (b.count >= 0 && i >= b.count) {
        finishedCalls.add(call);
        if (b.failCode !== undefined) call.emit('error', failure(b));
        else call.end(trailers());
        return;
      }
      call.write(Buffer.concat([call.request, Buffer.from(`#${i++}`)]));
      timer = this.#later(b.delayMs > 0 ? b.delayMs : b.count < 0 ? 5 : 0, step);
    };
    step();
  }

  #clientStream(call: ServerReadableStream<Buffer, Buffer>, cb: sendUnaryData<Buffer>): void {
    let timer: NodeJS.Timeout | undefined;
    const b = this.#begin('clientStream', call, () => this.#clear(timer));
    const parts: Buffer[] = [];
    call.on('data', (m: Buffer) => parts.push(m));
    call.on('end', () => {
      const answer = (): void => {
        if (call.cancelled) return;
        flushHeaders(call);
        finishedCalls.add(call);
        if (b.failCode !== undefined) { cb(failure(b)); return; }
        const head = Buffer.alloc(4);
        head.writeUInt32BE(parts.length);
        cb(null, Buffer.concat([head, ...parts]), trailers());
      };
      // Always a turn later: a reset stream also ends the readable side (see #bidi).
      timer = this.#later(b.delayMs, answer);
    });
  }

  #bidi(call: ServerDuplexStream<Buffer, Buffer>): void {
    const b = this.#begin('bidi', call, () => undefined);
    call.on('data', (m: Buffer) => { if (!call.cancelled) { flushHeaders(call); call.write(m); } });
    // A reset stream also ends the readable side ('end' before 'close'): decide a turn later, once
    // grpc-js has seen the close and marked the call cancelled.
    call.on('end', () => this.#later(0, () => {
      if (call.cancelled) return;
      flushHeaders(call);
      finishedCalls.add(call);
      if (b.failCode !== undefined) call.emit('error', failure(b));
      else call.end(trailers());
    }));
  }

  async close(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const w of this.#cancelWaiters.splice(0)) w();
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => { this.#server.forceShutdown(); resolve(); }, 1000);
      this.#server.tryShutdown(() => { clearTimeout(force); resolve(); });
    });
    this.#server.forceShutdown();
  }
}

// ── client ──────────────────────────────────────────────────────────────────────────────────────

const EchoClientConstructor = makeGenericClientConstructor(echoService, SERVICE_NAME);

/** What a finished call returned: the value(s), the initial metadata, and the final status (with trailers). */
export interface CallResult<T> {
  readonly value: T | undefined;
  readonly headers: Metadata | undefined;
  readonly status: StatusObject;
  readonly error: ServiceError | undefined;
}

export interface CallArgs {
  readonly metadata?: Metadata;
  /** A relative deadline in ms (grpc-js sends it as grpc-timeout). */
  readonly deadlineMs?: number;
}

type UnaryFn = (arg: Buffer, md: Metadata, opts: CallOptions, cb: (err: ServiceError | null, v?: Buffer) => void) => ClientUnaryCallLike;
type ServerStreamFn = (arg: Buffer, md: Metadata, opts: CallOptions) => ClientReadableStream<Buffer>;
type ClientStreamFn = (md: Metadata, opts: CallOptions, cb: (err: ServiceError | null, v?: Buffer) => void) => ClientWritableStream<Buffer>;
type BidiFn = (md: Metadata, opts: CallOptions) => ClientDuplexStream<Buffer, Buffer>;
interface ClientUnaryCallLike { on(ev: string, f: (...a: never[]) => void): unknown; cancel(): void }

function callOptions(a: CallArgs): CallOptions {
  return a.deadlineMs === undefined ? {} : { deadline: Date.now() + a.deadlineMs };
}

/** A grpc-js client of the echo service (one channel: one HTTP/2 connection to `address`). */
export class EchoClient {
  readonly raw: Client & Record<string, unknown>;

  constructor(address: string, options: Partial<ChannelOptions> = {}) {
    this.raw = new EchoClientConstructor(address, credentials.createInsecure(), options) as unknown as Client & Record<string, unknown>;
  }

  /** Metadata from name/value pairs (`-bin` keys take Buffers). */
  static metadata(pairs: Readonly<Record<string, string | Buffer>>): Metadata {
    const md = new Metadata();
    for (const [k, v] of Object.entries(pairs)) md.add(k, v);
    return md;
  }

  unary(payload: Buffer, a: CallArgs = {}): Promise<CallResult<Buffer>> {
    return new Promise((resolve) => {
      let value: Buffer | undefined;
      let error: ServiceError | undefined;
      let headers: Metadata | undefined;
      let gotCb = false;
      let st: StatusObject | undefined;
      const done = (): void => { if (gotCb && st !== undefined) resolve({ value, headers, status: st, error }); };
      const call = (this.raw['unary'] as UnaryFn).call(this.raw, payload, a.metadata ?? new Metadata(), callOptions(a), (err, v) => {
        gotCb = true;
        if (err !== null) error = err;
        else value = v;
        done();
      });
      call.on('metadata', (m: Metadata) => { headers = m; });
      call.on('status', (s: StatusObject) => { st = s; done(); });
    });
  }

  /** Starts a server-streaming call (the caller reads it, or use `collect`). */
  serverStream(payload: Buffer, a: CallArgs = {}): ClientReadableStream<Buffer> {
    return (this.raw['serverStream'] as ServerStreamFn).call(this.raw, payload, a.metadata ?? new Metadata(), callOptions(a));
  }

  /** Writes `messages` on a client-streaming call and ends it. */
  clientStream(messages: readonly Buffer[], a: CallArgs = {}): Promise<CallResult<Buffer>> {
    return new Promise((resolve) => {
      let value: Buffer | undefined;
      let error: ServiceError | undefined;
      let headers: Metadata | undefined;
      let gotCb = false;
      let st: StatusObject | undefined;
      const done = (): void => { if (gotCb && st !== undefined) resolve({ value, headers, status: st, error }); };
      const call = (this.raw['clientStream'] as ClientStreamFn).call(this.raw, a.metadata ?? new Metadata(), callOptions(a), (err, v) => {
        gotCb = true;
        if (err !== null) error = err;
        else value = v;
        done();
      });
      call.on('metadata', (m: Metadata) => { headers = m; });
      call.on('status', (s: StatusObject) => { st = s; done(); });
      for (const m of messages) call.write(m);
      call.end();
    });
  }

  bidi(a: CallArgs = {}): ClientDuplexStream<Buffer, Buffer> {
    return (this.raw['bidi'] as BidiFn).call(this.raw, a.metadata ?? new Metadata(), callOptions(a));
  }

  close(): void { this.raw.close(); }
}

/** Reads a streaming call to its end: every message, the initial metadata, the status. */
export function collect(call: ClientReadableStream<Buffer> | ClientDuplexStream<Buffer, Buffer>): Promise<CallResult<Buffer[]>> {
  return new Promise((resolve) => {
    const values: Buffer[] = [];
    let headers: Metadata | undefined;
    let error: ServiceError | undefined;
    let st: StatusObject | undefined;
    let ended = false;
    const done = (): void => { if (st !== undefined && (ended || error !== undefined)) resolve({ value: values, headers, status: st, error }); };
    call.on('metadata', (m: Metadata) => { headers = m; });
    call.on('data', (m: Buffer) => values.push(m));
    call.on('error', (e: ServiceError) => { error = e; done(); });
    call.on('end', () => { ended = true; done(); });
    call.on('status', (s: StatusObject) => { st = s; done(); });
  });
}

export { Status, Metadata };
