/**
 * Server layer, hot upgrade: moving connections, both ends — used by a single-process Skiff and by
 * each worker of a multi-process one (the controller fans the work out).
 *
 *   migrateConnections  (old)  every downstream connection is brought to a request boundary and
 *                              sent — descriptor + unread bytes — to one of the targets, or drained
 *                              (TLS, HTTP/2, tunnels) and left to close; at the deadline the rest
 *                              closes after its writes
 *   ConnectionReceiver  (new)  the xfer socket a target listens on; adopts what arrives
 */
import { Socket } from 'node:net';
import type { Logger } from '../../api/observability.js';
import { nativeFd } from '../../base/native-fd.js';
import type { SocketConnection, SocketHandover } from '../../network/connection/socket-connection.js';
import { closeQuietly, encodeConnData, encodeRecord, MAX_RECORD_BYTES, RecordType, XferReceiver, XferSender, type XferRecord } from './xfer.js';

export interface MigrationCounts {
  migrated: number;
  drained: number;
  closed: number;
}

export interface MigrateOptions {
  /** The downstream connections still here (asked again until none is left). */
  readonly connections: () => { listener: string; conn: SocketConnection }[];
  /** xfer socket paths of the new serving processes (connections are spread over them). */
  readonly targets: readonly string[];
  readonly deadlineMs: number;
  readonly logger: Logger;
  /** Called as counts change (admin progress). */
  readonly progress?: (c: MigrationCounts) => void;
  /** True once the new process is gone: stop moving (what was not touched stays and is served here). */
  readonly cancelled?: () => boolean;
}

export async function migrateConnections(opts: MigrateOptions): Promise<MigrationCounts> {
  const counts: MigrationCounts = { migrated: 0, drained: 0, closed: 0 };
  const report = (): void => opts.progress?.(counts);
  const senders: XferSender[] = [];
  for (const t of opts.targets) {
    try { senders.push(XferSender.connect(t)); } catch (err) { opts.logger.warn({ err: (err as Error).message, target: t }, 'hot upgrade: a target is unreachable'); }
  }
  const seen = new WeakSet<SocketConnection>();
  const pending = new Set<Promise<void>>();
  let next = 0;
  // Cancelled: the caller says so, or every target's channel broke (the new process is gone).
  const cancelled = (): boolean => (opts.cancelled?.() ?? false) || (senders.length > 0 && senders.every((s) => s.broken));
  // Connections finishing a TLS handshake or a listener filter join late: look again until none is left.
  for (;;) {
    if (cancelled()) break;
    for (const { listener, conn } of opts.connections()) {
      if (seen.has(conn)) continue;
      seen.add(conn);
      const live = senders.filter((s) => !s.broken);
      const sender = live.length === 0 ? undefined : live[next++ % live.length];
      const p = moveOne(listener, conn, sender, counts, report, cancelled).finally(() => pending.delete(p));
      pending.add(p);
    }
    if (opts.connections().length === 0 || Date.now() >= opts.deadlineMs) break;
    await sleep(Math.min(50, Math.max(1, opts.deadlineMs - Date.now())));
  }
  if (!cancelled()) {
    for (const { conn } of opts.connections()) {
      counts.closed++;
      conn.close('flush', 'upgrade_deadline');
    }
  }
  report();
  await Promise.race([Promise.all(pending), sleep(1000)]);
  await Promise.all(senders.map((s) => s.idle()));
  for (const s of senders) s.close();
  return counts;
}

/** One connection: moved when it reaches a boundary, else drained (it closes by itself, or at the deadline). */
async function moveOne(listener: string, conn: SocketConnection, sender: XferSender | undefined, counts: MigrationCounts, report: () => void, cancelled: () => boolean): Promise<void> {
  // A drain is not undone: once cancelled, connections not yet asked just stay.
  await Promise.resolve();
  if (cancelled()) return;
  const h = sender === undefined ? null : await conn.prepareHandover();
  if (h === null) {
    if (conn.closed) return;
    counts.drained++;
    report();
    conn.notifyDrain();
    return;
  }
  await new Promise<void>((resolve) => {
    sendConnection(sender!, listener, h, (ok) => {
      if (ok) { h.done(); counts.migrated++; }
      else { h.fail(); counts.closed++; }
      report();
      resolve();
    });
  });
}

let nextTransferId = 1;

/** Queues a connection: its descriptor and first bytes in one record, the rest in ConnData records. */
function sendConnection(sender: XferSender, listener: string, h: SocketHandover, sent: (ok: boolean) => void): void {
  const id = (process.pid * 65536 + nextTransferId++) >>> 0;
  let tail: Buffer = Buffer.alloc(0);
  sender.send(() => {
    const unread = h.unread();
    const first = unread.subarray(0, MAX_RECORD_BYTES);
    tail = unread.subarray(first.length);
    return { data: encodeRecord(RecordType.Conn, { id, listener, protocol: h.protocol, unreadLength: unread.length }, first), fds: [h.fd] };
  }, (ok) => {
    if (!ok) { sent(false); return; }
    // The descriptor is in the new process's queue: ours can close now; the remaining bytes follow in order.
    sent(true);
    for (let off = 0; off < tail.length; off += MAX_RECORD_BYTES) {
      const piece = tail.subarray(off, off + MAX_RECORD_BYTES);
      sender.send(() => ({ data: encodeConnData(id, piece), fds: [] }));
    }
  });
}

export type AdoptFn = (listener: string, socket: Socket, unread: Buffer, protocol: string) => boolean;

/** A target: listens at `path` and adopts every connection that arrives (after its last bytes). */
export class ConnectionReceiver {
  readonly #receiver: XferReceiver;
  readonly #adopt: AdoptFn;
  readonly #logger: Logger;
  readonly #partial = new Map<number, { listener: string; protocol: string; fd: number; need: number; chunks: Buffer[]; have: number }>();
  /** Old listener name → ours (a new config may rename a listener on the same address). */
  names = new Map<string, string>();
  adopted = 0;

  constructor(path: string, adopt: AdoptFn, logger: Logger) {
    this.#receiver = new XferReceiver(path, (r) => this.#onRecord(r), logger);
    this.#adopt = adopt;
    this.#logger = logger;
  }

  get path(): string { return this.#receiver.path; }

  start(): void { this.#receiver.start(); }

  /** Takes what already arrived, then stops listening. */
  close(): void {
    this.#receiver.close();
    for (const e of this.#partial.values()) closeQuietly(nativeFd!, e.fd);
    this.#partial.clear();
  }

  #onRecord(r: XferRecord): void {
    const n = nativeFd!;
    if (r.type === RecordType.Conn) {
      const [fd, ...extra] = r.fds;
      for (const x of extra) closeQuietly(n, x);
      if (fd === undefined) return;
      const need = Number(r.json['unreadLength']) || 0;
      const entry = { listener: String(r.json['listener'] ?? ''), protocol: String(r.json['protocol'] ?? ''), fd, need, chunks: [Buffer.from(r.bytes)], have: r.bytes.length };
      if (entry.have >= need) this.#finish(entry);
      else this.#partial.set(Number(r.json['id']), entry);
      return;
    }
    if (r.type === RecordType.ConnData) {
      const id = Number(r.json['id']);
      const e = this.#partial.get(id);
      if (e === undefined) return;
      e.chunks.push(Buffer.from(r.bytes));
      e.have += r.bytes.length;
      if (e.have >= e.need) { this.#partial.delete(id); this.#finish(e); }
      return;
    }
    for (const fd of r.fds) closeQuietly(n, fd);
  }

  #finish(e: { listener: string; protocol: string; fd: number; chunks: Buffer[] }): void {
    const unread = e.chunks.length === 1 ? e.chunks[0]! : Buffer.concat(e.chunks);
    let socket: Socket;
    try {
      socket = new Socket({ fd: e.fd, allowHalfOpen: true, readable: true, writable: true });
    } catch (err) {
      this.#logger.warn({ err }, 'hot upgrade: a handed-over descriptor is not a socket');
      closeQuietly(nativeFd!, e.fd);
      return;
    }
    const name = this.names.get(e.listener) ?? e.listener;
    if (!this.#adopt(name, socket, unread, e.protocol)) {
      this.#logger.warn({ listener: e.listener }, 'hot upgrade: no listener here for a handed-over connection; closing it');
      socket.destroy();
      return;
    }
    this.adopted++;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
