/**
 * Test fake for hot upgrade (issue 7): long-lived clients on real sockets whose every request
 * carries a unique id recorded in one ledger, and the backends they reach through Skiff.
 *
 *   100 HTTP/1.1 keep-alive clients ──┐                 ┌── HTTP echo  "A" / "B"  body `<name>:<id>`
 *     raw net sockets, `GET /id/<id>`,│    Skiff (old   │
 *     one request at a time           ├──► → new) ─────►┤
 *   100 Bolt clients ─────────────────┘                 └── Bolt echo  "A" / "B"  content `<name>:<id>`
 *     raw net sockets, Skiff's codec,
 *     up to 4 requests in flight, content = the id
 *
 * The ledger records, per id, how often it was sent and answered, with what, or why it failed; per
 * client, the socket object and local port at connect time and every 'end'/'close'/'error' seen
 * before the test itself closed it. A client never reconnects: a connection lost is a failure,
 * so "same socket, same local port, answered by the new process" proves a migration. An optional
 * prober opens a fresh connection per request (new connections must be served during the
 * takeover too); its own close after the answer is expected and not counted.
 */
import http from 'node:http';
import net from 'node:net';
import { XFrameKind, type XFrame } from '../../src/api/xprotocol.js';
import { BoltCmdCode, BoltType, encodeBolt } from '../../src/extensions/codecs/bolt/bolt.js';
import { boltContent, onBoltFrames, startBoltServer, type BoltServer } from './bolt-peer.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------------------------- backends

export interface HttpEcho {
  readonly name: string;
  readonly port: number;
  /** Requests that reached it. */
  readonly hits: number;
  close(): Promise<void>;
}

/**
 * An HTTP/1.1 origin: `GET /id/<id>` → 200 `<name>:<id>`; `GET /slow/<id>` → the same after
 * `slowMs`; anything else → 200 `<name>:<path>`. Keep-alive for a minute (no upstream idle races).
 */
export async function startHttpEcho(name: string, slowMs = 1000): Promise<HttpEcho> {
  const sockets = new Set<net.Socket>();
  const state = { name, port: 0, hits: 0, close: async (): Promise<void> => undefined };
  const server = http.createServer((req, res) => {
    state.hits++;
    const url = req.url ?? '/';
    req.resume();
    const answer = (body: string): void => {
      if (res.destroyed) return;
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (url.startsWith('/id/')) answer(`${name}:${url.slice(4)}`);
    else if (url.startsWith('/slow/')) setTimeout(() => answer(`${name}:${url.slice(6)}`), slowMs);
    else answer(`${name}:${url}`);
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.port = (server.address() as net.AddressInfo).port;
  state.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return state;
}

/** One named pair of backends (HTTP echo + Bolt echo). */
export interface Backends {
  readonly name: string;
  readonly http: HttpEcho;
  readonly bolt: BoltServer;
  close(): Promise<void>;
}

export async function startBackends(name: string, slowMs?: number): Promise<Backends> {
  const httpEcho = await startHttpEcho(name, slowMs);
  const bolt = await startBoltServer({ name });
  return { name, http: httpEcho, bolt, close: async () => { await httpEcho.close(); await bolt.close(); } };
}

// --------------------------------------------------------------------------------------- ledger

export type ClientKind = 'http' | 'bolt' | 'fresh';

export interface LedgerEntry {
  readonly id: number;
  readonly kind: ClientKind;
  /** Client index (-1 for the fresh-connection prober). */
  readonly client: number;
  sent: number;
  /** Every answer body/content received for this id. */
  readonly answers: string[];
  /** Why it failed (status, timeout, connection lost…), if it did. */
  readonly failures: string[];
  sentAt: number;
  answeredAt: number;
}

export interface ConnectionEvent {
  readonly kind: ClientKind;
  readonly client: number;
  readonly event: 'end' | 'close' | 'error';
  readonly detail: string;
  readonly at: number;
}

export interface LedgerOptions {
  readonly httpPort: number;
  readonly boltPort: number;
  readonly httpClients?: number;
  readonly boltClients?: number;
  /** Bolt requests in flight per connection. */
  readonly boltInFlight?: number;
  /** Pause between a client's answer and its next request (each Bolt lane pauses on its own). */
  readonly httpPauseMs?: number;
  readonly boltPauseMs?: number;
  /** Per-request deadline; past it the id is recorded as failed. */
  readonly requestTimeoutMs?: number;
  /** When set, one fresh HTTP connection per request every this many ms (`GET /id/<id>`, then closed). */
  readonly freshEveryMs?: number;
  /** Bolt `service` header (what the test's routes match). */
  readonly boltService?: string;
}

/** What a client kept from connect time, for the "same TCP connection" check. */
export interface ClientRecord {
  readonly kind: 'http' | 'bolt';
  readonly index: number;
  readonly socket: net.Socket;
  readonly localPortAtConnect: number;
  /** Backend name of the last answer (the part before ':'). */
  lastServedBy: string;
  answered: number;
}

export interface LedgerReport {
  readonly sent: number;
  readonly answered: number;
  readonly byKind: Record<ClientKind, { sent: number; answered: number }>;
  /** Human-readable problems: failures, unanswered, duplicates, wrong answers, connection events. */
  readonly problems: string[];
  readonly failed: number;
  readonly unanswered: number;
  readonly duplicates: number;
  readonly wrong: number;
  readonly events: readonly ConnectionEvent[];
}

export class UpgradeLedger {
  readonly entries = new Map<number, LedgerEntry>();
  readonly events: ConnectionEvent[] = [];
  readonly clients: ClientRecord[] = [];
  readonly #o: Required<Omit<LedgerOptions, 'freshEveryMs'>> & { freshEveryMs: number };
  #nextId = 1;
  #running = false;
  #closing = false;
  #loops: Promise<void>[] = [];
  #freshSockets = new Set<net.Socket>();

  constructor(o: LedgerOptions) {
    this.#o = {
      httpClients: 100, boltClients: 100, boltInFlight: 4, httpPauseMs: 60, boltPauseMs: 120,
      requestTimeoutMs: 20_000, freshEveryMs: 0, boltService: 'svc', ...o,
    };
  }

  /** Total answers so far (to see that the load keeps moving). */
  get answered(): number {
    let n = 0;
    for (const e of this.entries.values()) n += e.answers.length;
    return n;
  }

  #newEntry(kind: ClientKind, client: number): LedgerEntry {
    const id = this.#nextId++;
    const e: LedgerEntry = { id, kind, client, sent: 0, answers: [], failures: [], sentAt: 0, answeredAt: 0 };
    this.entries.set(id, e);
    return e;
  }

  #watch(kind: ClientKind, client: number, s: net.Socket, onLost: (why: string) => void): void {
    const seen = (event: 'end' | 'close' | 'error', detail: string): void => {
      // After close() the test itself cut the connection: not an event, but waiters still settle.
      if (!this.#closing) this.events.push({ kind, client, event, detail, at: Date.now() });
      onLost(`${event} ${detail}`);
    };
    s.on('end', () => seen('end', 'FIN from the proxy'));
    s.on('error', (err: NodeJS.ErrnoException) => seen('error', err.code ?? err.message));
    s.on('close', (hadError) => seen('close', hadError ? 'after error' : 'clean'));
  }

  /** Connects every client (in batches), then starts the request loops. */
  async start(): Promise<void> {
    const connect = (port: number): Promise<net.Socket> => new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1');
      s.setNoDelay(true);
      s.once('connect', () => { s.off('error', reject); resolve(s); });
      s.once('error', reject);
    });
    const specs: { kind: 'http' | 'bolt'; index: number; port: number }[] = [];
    for (let i = 0; i < this.#o.httpClients; i++) specs.push({ kind: 'http', index: i, port: this.#o.httpPort });
    for (let i = 0; i < this.#o.boltClients; i++) specs.push({ kind: 'bolt', index: i, port: this.#o.boltPort });
    for (let at = 0; at < specs.length; at += 25) {
      const batch = specs.slice(at, at + 25);
      const sockets = await Promise.all(batch.map((b) => connect(b.port)));
      batch.forEach((b, k) => {
        const socket = sockets[k]!;
        this.clients.push({ kind: b.kind, index: b.index, socket, localPortAtConnect: socket.localPort ?? -1, lastServedBy: '', answered: 0 });
      });
    }
    this.#running = true;
    for (const c of this.clients) this.#loops.push(c.kind === 'http' ? this.#runHttp(c) : this.#runBolt(c));
    if (this.#o.freshEveryMs > 0) this.#loops.push(this.#runFresh());
  }

  /** Stops issuing requests and waits until every request in flight is answered or timed out. */
  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }

  /** Closes every client socket (not counted as an event). */
  close(): void {
    this.#running = false;
    this.#closing = true;
    for (const c of this.clients) c.socket.destroy();
    for (const s of this.#freshSockets) s.destroy();
  }

  #answer(e: LedgerEntry, body: string, c: ClientRecord | undefined): void {
    e.answers.push(body);
    e.answeredAt = Date.now();
    if (c !== undefined) {
      c.answered++;
      c.lastServedBy = body.slice(0, body.indexOf(':'));
    }
  }

  // One request at a time on a keep-alive connection; responses framed by Content-Length.
  async #runHttp(c: ClientRecord): Promise<void> {
    const s = c.socket;
    let buf = '';
    let pending: { entry: LedgerEntry; resolve: () => void } | undefined;
    let lost = '';
    const settle = (): void => {
      const p = pending;
      pending = undefined;
      p?.resolve();
    };
    this.#watch('http', c.index, s, (why) => {
      if (lost === '') lost = why;
      if (pending !== undefined) pending.entry.failures.push(`connection lost in flight: ${why}`);
      settle();
    });
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      buf += d;
      for (;;) {
        const headEnd = buf.indexOf('\r\n\r\n');
        if (headEnd < 0) return;
        const head = buf.slice(0, headEnd);
        const lenAt = head.toLowerCase().indexOf('\r\ncontent-length:');
        const len = lenAt < 0 ? 0 : Number.parseInt(head.slice(lenAt + 17, head.indexOf('\r\n', lenAt + 2) < 0 ? undefined : head.indexOf('\r\n', lenAt + 2)).trim(), 10);
        if (buf.length < headEnd + 4 + len) return;
        const body = buf.slice(headEnd + 4, headEnd + 4 + len);
        buf = buf.slice(headEnd + 4 + len);
        const status = head.slice(9, 12);
        const p = pending;
        if (p === undefined) {
          this.events.push({ kind: 'http', client: c.index, event: 'error', detail: `unsolicited response ${status} ${body}`, at: Date.now() });
          continue;
        }
        if (status !== '200') p.entry.failures.push(`status ${status} ${body}`);
        if (/\r\nconnection:\s*close/i.test(head)) p.entry.failures.push('connection: close on a keep-alive client');
        this.#answer(p.entry, body, c);
        settle();
      }
    });
    while (this.#running && lost === '') {
      const e = this.#newEntry('http', c.index);
      const done = new Promise<void>((resolve) => (pending = { entry: e, resolve }));
      const timer = setTimeout(() => {
        if (pending?.entry === e) {
          e.failures.push(`timeout after ${this.#o.requestTimeoutMs} ms`);
          settle();
        }
      }, this.#o.requestTimeoutMs);
      e.sent++;
      e.sentAt = Date.now();
      s.write(`GET /id/${e.id} HTTP/1.1\r\nHost: ledger\r\n\r\n`);
      await done;
      clearTimeout(timer);
      if (e.failures.length > 0 && e.failures.some((f) => f.startsWith('timeout'))) break; // the stream is out of step
      await sleep(this.#o.httpPauseMs * (0.5 + Math.random()));
    }
  }

  // `boltInFlight` lanes share one connection; each sends, awaits its answer, pauses, repeats.
  async #runBolt(c: ClientRecord): Promise<void> {
    const s = c.socket;
    const waiting = new Map<number, { entry: LedgerEntry; resolve: () => void }>();
    let lost = '';
    this.#watch('bolt', c.index, s, (why) => {
      if (lost === '') lost = why;
      for (const w of waiting.values()) {
        w.entry.failures.push(`connection lost in flight: ${why}`);
        w.resolve();
      }
      waiting.clear();
    });
    onBoltFrames(s, (f: XFrame) => {
      if (f.kind !== XFrameKind.Response) {
        this.events.push({ kind: 'bolt', client: c.index, event: 'error', detail: `unexpected frame kind ${f.kind} id ${f.requestId}`, at: Date.now() });
        return;
      }
      const w = waiting.get(f.requestId);
      if (w === undefined) {
        // A second answer to an id, or an answer to an id never sent on this connection.
        const e = this.entries.get(f.requestId);
        if (e !== undefined) this.#answer(e, boltContent(f), undefined);
        else this.events.push({ kind: 'bolt', client: c.index, event: 'error', detail: `answer to unknown id ${f.requestId}`, at: Date.now() });
        return;
      }
      waiting.delete(f.requestId);
      if (f.status !== 0) w.entry.failures.push(`bolt status ${f.status}`);
      this.#answer(w.entry, boltContent(f), c);
      w.resolve();
    });
    const lane = async (): Promise<void> => {
      await sleep(this.#o.boltPauseMs * Math.random()); // spread the lanes
      while (this.#running && lost === '') {
        const e = this.#newEntry('bolt', c.index);
        const done = new Promise<void>((resolve) => waiting.set(e.id, { entry: e, resolve }));
        const timer = setTimeout(() => {
          const w = waiting.get(e.id);
          if (w !== undefined) {
            waiting.delete(e.id);
            e.failures.push(`timeout after ${this.#o.requestTimeoutMs} ms`);
            w.resolve();
          }
        }, this.#o.requestTimeoutMs);
        e.sent++;
        e.sentAt = Date.now();
        s.write(encodeBolt({
          type: BoltType.Request, cmdCode: BoltCmdCode.Request, requestId: e.id, timeoutMs: this.#o.requestTimeoutMs,
          headers: { service: this.#o.boltService }, content: Buffer.from(String(e.id)),
        }));
        await done;
        clearTimeout(timer);
        await sleep(this.#o.boltPauseMs * (0.5 + Math.random()));
      }
    };
    const lanes: Promise<void>[] = [];
    for (let i = 0; i < this.#o.boltInFlight; i++) lanes.push(lane());
    await Promise.all(lanes);
  }

  // A fresh connection per request: new connections must be accepted and served throughout.
  async #runFresh(): Promise<void> {
    const inFlight: Promise<void>[] = [];
    while (this.#running) {
      const e = this.#newEntry('fresh', -1);
      inFlight.push(new Promise<void>((resolve) => {
        let text = '';
        let done = false;
        const finish = (failure?: string): void => {
          if (done) return;
          done = true;
          if (failure !== undefined) e.failures.push(failure);
          this.#freshSockets.delete(s);
          s.destroy();
          resolve();
        };
        const s = net.connect(this.#o.httpPort, '127.0.0.1', () => s.write(`GET /id/${e.id} HTTP/1.1\r\nHost: ledger\r\nConnection: close\r\n\r\n`));
        this.#freshSockets.add(s);
        e.sent++;
        e.sentAt = Date.now();
        s.setTimeout(this.#o.requestTimeoutMs, () => finish('timeout'));
        s.setEncoding('latin1');
        s.on('data', (d: string) => {
          text += d;
          const headEnd = text.indexOf('\r\n\r\n');
          if (headEnd < 0) return;
          const head = text.slice(0, headEnd);
          const lenAt = head.toLowerCase().indexOf('\r\ncontent-length:');
          if (lenAt < 0) return finish(`no content-length: ${head}`);
          const lineEnd = head.indexOf('\r\n', lenAt + 2);
          const len = Number.parseInt(head.slice(lenAt + 17, lineEnd < 0 ? undefined : lineEnd).trim(), 10);
          if (text.length < headEnd + 4 + len) return;
          const status = head.slice(9, 12);
          if (status !== '200') e.failures.push(`status ${status}`);
          this.#answer(e, text.slice(headEnd + 4, headEnd + 4 + len), undefined);
          finish();
        });
        s.on('error', (err: NodeJS.ErrnoException) => finish(`fresh connection error ${err.code ?? err.message}`));
        s.on('close', () => finish(e.answers.length === 0 ? 'fresh connection closed before the answer' : undefined));
      }));
      await sleep(this.#o.freshEveryMs);
    }
    await Promise.all(inFlight);
  }

  /** Checks every id: sent once, answered exactly once with its own id, no failure; lists connection events. */
  report(): LedgerReport {
    const problems: string[] = [];
    const byKind: Record<ClientKind, { sent: number; answered: number }> = { http: { sent: 0, answered: 0 }, bolt: { sent: 0, answered: 0 }, fresh: { sent: 0, answered: 0 } };
    let sent = 0;
    let answered = 0;
    let failed = 0;
    let unanswered = 0;
    let duplicates = 0;
    let wrong = 0;
    for (const e of this.entries.values()) {
      if (e.sent === 0) continue; // allocated as a loop ended
      sent += e.sent;
      byKind[e.kind].sent += e.sent;
      answered += e.answers.length;
      byKind[e.kind].answered += e.answers.length;
      const where = `${e.kind}#${e.client} id ${e.id}`;
      if (e.failures.length > 0) {
        failed++;
        if (problems.length < 40) problems.push(`${where}: ${e.failures.join('; ')}`);
      }
      if (e.answers.length === 0 && e.failures.length === 0) {
        unanswered++;
        if (problems.length < 40) problems.push(`${where}: never answered`);
      }
      if (e.answers.length > 1) {
        duplicates++;
        if (problems.length < 40) problems.push(`${where}: answered ${e.answers.length} times (${e.answers.join(', ')})`);
      }
      for (const a of e.answers) {
        if (a.slice(a.indexOf(':') + 1) !== String(e.id)) {
          wrong++;
          if (problems.length < 40) problems.push(`${where}: wrong answer "${a}"`);
        }
      }
    }
    for (const ev of this.events.slice(0, 20)) problems.push(`${ev.kind}#${ev.client}: ${ev.event} (${ev.detail})`);
    if (this.events.length > 20) problems.push(`… ${this.events.length - 20} more connection events`);
    return { sent, answered, byKind, problems, failed, unanswered, duplicates, wrong, events: this.events };
  }
}
