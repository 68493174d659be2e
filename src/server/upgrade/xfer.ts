/**
 * Server layer, hot upgrade: the descriptor channel between an old and a new Skiff. Records travel
 * over an AF_UNIX SOCK_SEQPACKET socket (one record per message, boundaries kept) with SCM_RIGHTS
 * descriptors attached, through the native addon (src/base/native-fd.ts): Node cannot pass a
 * descriptor to a process it did not spawn.
 *
 *   record = [u8 type][u32 json length][json][bytes]        ≤ 64 KiB; longer bytes follow in
 *                                                            ConnData records [u8 3][u32 id][bytes]
 *
 * The receiver polls (every 2 ms) only while an upgrade is under way: the addon is synchronous and
 * non-blocking, so no thread and no libuv internals are involved. The sender queues on EAGAIN and
 * builds each record at the moment it is sent, so a connection's unread bytes are read together with
 * its descriptor.
 */
import { chmodSync } from 'node:fs';
import { removeSocketFile } from '../../base/unix-socket-file.js';
import type { Logger } from '../../api/observability.js';
import { nativeFd, nativeFdError, type NativeFd } from '../../base/native-fd.js';

export const RecordType = { Listeners: 1, Conn: 2, ConnData: 3 } as const;

/** Record payload budget (the addon's limit is 64 KiB per record). */
export const MAX_RECORD_BYTES = 60 * 1024;

export interface XferRecord {
  readonly type: number;
  readonly json: Record<string, unknown>;
  readonly bytes: Buffer;
  readonly fds: number[];
}

export function requireNative(): NativeFd {
  if (nativeFd === undefined) throw new Error(`hot upgrade needs the native addon: ${nativeFdError ?? 'not built'}`);
  return nativeFd;
}

export function encodeRecord(type: number, json: unknown, bytes: Uint8Array = EMPTY): Buffer {
  const j = Buffer.from(JSON.stringify(json), 'utf8');
  const out = Buffer.allocUnsafe(5 + j.length + bytes.length);
  out[0] = type;
  out.writeUInt32BE(j.length, 1);
  j.copy(out, 5);
  out.set(bytes, 5 + j.length);
  return out;
}

export function encodeConnData(id: number, bytes: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + bytes.length);
  out[0] = RecordType.ConnData;
  out.writeUInt32BE(id >>> 0, 1);
  out.set(bytes, 5);
  return out;
}

/** Parses one record; throws on a malformed one (the peer is then dropped). */
export function decodeRecord(data: Buffer, fds: number[]): XferRecord {
  if (data.length < 5) throw new Error('short record');
  const type = data[0]!;
  if (type === RecordType.ConnData) return { type, json: { id: data.readUInt32BE(1) }, bytes: data.subarray(5), fds };
  const n = data.readUInt32BE(1);
  if (5 + n > data.length) throw new Error('bad record length');
  const json = JSON.parse(data.subarray(5, 5 + n).toString('utf8')) as unknown;
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('bad record header');
  return { type, json: json as Record<string, unknown>, bytes: data.subarray(5 + n), fds };
}

const EMPTY = Buffer.alloc(0);

/** The listening end: accepts senders, and hands every record (in order per sender) to `onRecord`. */
export class XferReceiver {
  readonly path: string;
  readonly #native: NativeFd;
  readonly #onRecord: (r: XferRecord) => void;
  readonly #logger: Logger;
  #listenFd = -1;
  #peers: number[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(path: string, onRecord: (r: XferRecord) => void, logger: Logger) {
    this.path = path;
    this.#native = requireNative();
    this.#onRecord = onRecord;
    this.#logger = logger;
  }

  start(): void {
    removeSocketFile(this.path);
    this.#listenFd = this.#native.seqpacketListen(this.path);
    restrictToOwner(this.path);
    this.#timer = setInterval(() => this.#poll(), 2);
  }

  /** Reads everything pending now (also called by the poll timer). */
  #poll(): void {
    const n = this.#native;
    if (this.#listenFd < 0) return;
    for (;;) {
      let fd: number;
      try { fd = n.seqpacketAccept(this.#listenFd); } catch (err) { this.#logger.warn({ err }, 'hot upgrade: accept on the transfer socket failed'); break; }
      if (fd < 0) break;
      this.#peers.push(fd);
    }
    for (const peer of [...this.#peers]) {
      for (let i = 0; i < 4096; i++) {
        let r: { data: Buffer; fds: number[]; eof: boolean } | null;
        try { r = n.recvRecord(peer); } catch (err) { this.#logger.warn({ err }, 'hot upgrade: bad record; dropping the sender'); this.#drop(peer); break; }
        if (r === null) break;
        if (r.eof) { this.#drop(peer); break; }
        let rec: XferRecord;
        try {
          rec = decodeRecord(r.data, r.fds);
        } catch (err) {
          for (const fd of r.fds) closeQuietly(n, fd);
          this.#logger.warn({ err }, 'hot upgrade: malformed record; dropping the sender');
          this.#drop(peer);
          break;
        }
        try { this.#onRecord(rec); } catch (err) { this.#logger.error({ err }, 'hot upgrade: record handler threw'); }
      }
    }
  }

  #drop(peer: number): void {
    this.#peers = this.#peers.filter((p) => p !== peer);
    closeQuietly(this.#native, peer);
  }

  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#listenFd >= 0) {
      this.#poll(); // whatever already arrived is still delivered
      closeQuietly(this.#native, this.#listenFd);
      this.#listenFd = -1;
    }
    for (const p of this.#peers) closeQuietly(this.#native, p);
    this.#peers = [];
    removeSocketFile(this.path);
  }
}

interface Pending {
  readonly build: () => { data: Buffer; fds: readonly number[] } | null;
  readonly sent: (ok: boolean) => void;
}

/** The sending end: records go out in order; a full queue (EAGAIN) is retried shortly. */
export class XferSender {
  readonly #native: NativeFd;
  readonly #fd: number;
  readonly #queue: Pending[] = [];
  #timer: NodeJS.Timeout | undefined;
  #broken = false;
  #idleWaiters: (() => void)[] = [];

  private constructor(native: NativeFd, fd: number) {
    this.#native = native;
    this.#fd = fd;
  }

  /** Throws (ENOENT, ECONNREFUSED) when nothing listens at `path`. */
  static connect(path: string): XferSender {
    const n = requireNative();
    return new XferSender(n, n.seqpacketConnect(path));
  }

  /**
   * Queues a record. `build` runs at the moment of sending (null = skip it); `sent(true)` follows right
   * after a successful send in the same tick, `sent(false)` when the channel broke.
   */
  send(build: Pending['build'], sent: Pending['sent'] = noop): void {
    if (this.#broken) { sent(false); return; }
    this.#queue.push({ build, sent });
    if (this.#queue.length === 1 && this.#timer === undefined) this.#flush();
  }

  /** Resolves when the queue is empty (or the channel broke). */
  idle(): Promise<void> {
    if (this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  get broken(): boolean { return this.#broken; }

  #flush(): void {
    this.#timer = undefined;
    while (this.#queue.length > 0) {
      const p = this.#queue[0]!;
      const rec = p.build();
      if (rec === null) { this.#queue.shift(); p.sent(false); continue; }
      let ok: boolean;
      try {
        ok = this.#native.sendRecord(this.#fd, rec.data, rec.fds);
      } catch {
        this.#break();
        return;
      }
      if (!ok) {
        // The receiver's queue is full: try again shortly (the record is rebuilt then).
        this.#timer = setTimeout(() => this.#flush(), 1);
        return;
      }
      this.#queue.shift();
      p.sent(true);
    }
    const w = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const f of w) f();
  }

  #break(): void {
    this.#broken = true;
    const q = this.#queue.splice(0);
    for (const p of q) p.sent(false);
    const w = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const f of w) f();
  }

  close(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#broken) this.#break();
    closeQuietly(this.#native, this.#fd);
  }
}

function noop(): void {}

export function closeQuietly(n: NativeFd, fd: number): void {
  try { n.close(fd); } catch { /* already closed */ }
}

/** Only this user may connect to an upgrade socket (connecting to a unix socket needs write permission). */
export function restrictToOwner(path: string): void {
  try {
    chmodSync(path, 0o600);
  } catch {
    /* gone already */
  }
}
