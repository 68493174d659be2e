/**
 * Server layer, hot upgrade — the NEW process's side. Before binding anything, a starting Skiff
 * looks for an old one serving the same config file (its reconfig socket in `uds_dir`). Found:
 *
 *   hello → accept + the listening sockets (xfer channel) → the caller starts on them (`listenerFds`,
 *   `adminFd`) → `complete(host)`: counters absorbed, connection targets opened (here, or one per
 *   worker), `ready` sent → connections adopted as they arrive → `done` → targets closed, complete.
 *
 * Not found, refused, or no native addon: an ordinary start. A failed start after the sockets came
 * (the process exits) makes the old process resume: nothing there had changed.
 */
import { connect, type Socket } from 'node:net';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Address, SkiffConfig } from '../../api/config.js';
import type { Logger } from '../../api/observability.js';
import type { CounterEntry } from '../../observability/index.js';
import { nativeFd } from '../../base/native-fd.js';
import { configIdentity, ControlChannel, reconfigSocketPath, type ControlMessage, type UpgradeStatus } from './control.js';
import { closeQuietly, RecordType, XferReceiver } from './xfer.js';

/** What the new process (a single Skiff, or a controller) offers the takeover. */
export interface TakeoverHost {
  readonly logger: Logger;
  /** Adds the old process's counters (stats continue across the upgrade). */
  absorbCounters(entries: readonly CounterEntry[]): void;
  readonly status: UpgradeStatus;
  /**
   * Opens the xfer sockets old connections are sent to (one per serving process); `names` maps the
   * old process's listener names to ours.
   */
  openTargets(names: ReadonlyMap<string, string>): Promise<string[]>;
  /** The old process is done (or gone): take what arrived and stop listening. */
  closeTargets(): void;
}

export interface TakeoverOptions {
  readonly udsDir: string;
  readonly configPath: string;
  readonly config: SkiffConfig;
  /** --takeover: replace the Skiff in uds_dir even when it serves another config file. */
  readonly force: boolean;
  readonly logger: Logger;
}

interface InheritedSocket { name: string; configAddress: string; boundAddress: string; admin: boolean; fd: number }

const HELLO_TIMEOUT_MS = 10_000;

/** A takeover in progress: the inherited sockets for the server, then `complete` once it serves. */
export class Takeover {
  readonly fromPid: number;
  readonly listenerFds: ReadonlyMap<string, number>;
  readonly adminFd: number | undefined;
  readonly #channel: ControlChannel;
  readonly #logger: Logger;
  readonly #counters: CounterEntry[];
  readonly #unused: number[];
  readonly #names: Map<string, string>;
  readonly #startedAt: number;
  #host: TakeoverHost | undefined;
  #done = false;
  #resolveFinished!: () => void;
  /** Settles when the old process is done (or gone): its reconfig socket is free then. */
  readonly finished = new Promise<void>((resolve) => { this.#resolveFinished = resolve; });

  /** The old process has this long to finish (its own deadline is graceful_timeout) before we stop waiting. */
  readonly #patienceMs: number;

  constructor(init: { fromPid: number; channel: ControlChannel; logger: Logger; counters: CounterEntry[]; listenerFds: Map<string, number>; adminFd: number | undefined; unused: number[]; names: Map<string, string>; startedAt: number; patienceMs: number }) {
    this.#patienceMs = init.patienceMs;
    this.fromPid = init.fromPid;
    this.#channel = init.channel;
    this.#logger = init.logger;
    this.#counters = init.counters;
    this.listenerFds = init.listenerFds;
    this.adminFd = init.adminFd;
    this.#unused = init.unused;
    this.#names = init.names;
    this.#startedAt = init.startedAt;
  }

  /** The new process serves on the inherited sockets: open the targets and tell the old process. */
  async complete(host: TakeoverHost): Promise<void> {
    this.#host = host;
    for (const fd of this.#unused) closeQuietly(nativeFd!, fd);
    host.absorbCounters(this.#counters);
    Object.assign(host.status, {
      state: 'taking_over', from: this.fromPid, startedAt: new Date(this.#startedAt).toISOString(),
      listenersInherited: this.listenerFds.size + (this.adminFd === undefined ? 0 : 1),
    });
    let targets: string[];
    try {
      targets = await host.openTargets(this.#names);
    } catch (err) {
      this.#logger.warn({ err: (err as Error).message }, 'hot upgrade: cannot receive connections; the old process drains them instead');
      targets = [];
    }
    if (this.#done) { host.closeTargets(); return; }
    this.#channel.send({ t: 'ready', pid: process.pid, targets });
    setTimeout(() => { if (!this.#done) this.#channel.socket.destroy(); }, this.#patienceMs).unref();
  }

  /** The start failed: let the old process resume (it still has every socket). */
  abort(reason: string): void {
    this.#resolveFinished();
    this.#done = true;
    for (const fd of this.#unused) closeQuietly(nativeFd!, fd);
    this.#channel.send({ t: 'abort', reason });
    this.#channel.close();
  }

  onMessage(m: ControlMessage): void {
    const st = this.#host?.status;
    if (m.t === 'progress' && st !== undefined) {
      st.connectionsMigrated = Number(m['migrated']) || 0;
      st.connectionsDrained = Number(m['drained']) || 0;
      st.connectionsClosed = Number(m['closed']) || 0;
      return;
    }
    if (m.t === 'done') this.#finish(m);
  }

  onEnd(reason: string): void {
    this.#resolveFinished();
    if (this.#done) return;
    this.#done = true;
    const host = this.#host;
    if (host === undefined) return; // still starting: the caller sees the failure
    host.closeTargets();
    host.status.state = 'failed';
    host.status.reason = `the old process went away (${reason})`;
    this.#logger.warn({ from: this.fromPid, reason }, 'hot upgrade: the old process went away before it was done; serving on');
  }

  #finish(m: ControlMessage): void {
    this.#resolveFinished();
    if (this.#done) return;
    this.#done = true;
    const host = this.#host;
    if (host === undefined) return;
    // Every record was sent before `done`: the targets take what is queued, then stop.
    host.closeTargets();
    // The old process counted on after its first snapshot: add the difference.
    // (Entries may repeat a key — one per worker — so both sides are summed per key first.)
    const before = sumByKey(this.#counters);
    const after = sumByKey(Array.isArray(m['counters']) ? (m['counters'] as CounterEntry[]) : []);
    const delta: CounterEntry[] = [];
    for (const [k, e] of after) {
      const d = e.value - (before.get(k)?.value ?? 0);
      if (d > 0) delta.push({ ...e, value: d });
    }
    host.absorbCounters(delta);
    const st = host.status;
    st.state = 'complete';
    st.connectionsMigrated = Number(m['migrated']) || 0;
    st.connectionsDrained = Number(m['drained']) || 0;
    st.connectionsClosed = Number(m['closed']) || 0;
    st.ms = Date.now() - this.#startedAt;
    this.#logger.info({ from: this.fromPid, migrated: st.connectionsMigrated, drained: st.connectionsDrained, closed: st.connectionsClosed, listeners: st.listenersInherited, ms: st.ms }, 'hot upgrade: complete');
    this.#channel.close();
  }
}

function counterKey(c: CounterEntry): string {
  return `${c.type}\u0000${JSON.stringify(Object.entries(c.labels ?? {}).sort())}\u0000${c.key}`;
}

/** Counter entries summed per metric (workers report one entry each). */
export function sumByKey(entries: readonly CounterEntry[]): Map<string, CounterEntry> {
  const out = new Map<string, CounterEntry>();
  for (const e of entries) {
    if (typeof e.value !== 'number' || !Number.isFinite(e.value)) continue;
    const k = counterKey(e);
    const prev = out.get(k);
    out.set(k, prev === undefined ? { ...e } : { ...prev, value: prev.value + e.value });
  }
  return out;
}

/**
 * Looks for an old Skiff to take over. Resolves undefined for an ordinary start (none there, it
 * refused, or hot upgrade is off); rejects only on a protocol failure after the old one accepted.
 */
export async function tryTakeover(opts: TakeoverOptions): Promise<Takeover | undefined> {
  const { logger } = opts;
  if (opts.config.disableUpgrade || nativeFd === undefined) return undefined;
  const path = opts.force ? findAnyReconfigSocket(opts.udsDir, opts.configPath) : reconfigSocketPath(opts.udsDir, opts.configPath);
  if (path === undefined) return undefined;
  const socket = await connectWithin(path, 1000);
  if (socket === undefined) return undefined;
  const startedAt = Date.now();
  let takeover: Takeover | undefined;
  return new Promise<Takeover | undefined>((resolve, reject) => {
    let accept: ControlMessage | undefined;
    let sockets: InheritedSocket[] | undefined;
    const received: InheritedSocket[] = [];
    let seen = 0;
    let settled = false;
    const settle = (v: Takeover | undefined, err?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      receiver.close();
      if (err !== undefined) reject(err);
      else resolve(v);
    };
    // The listening sockets arrive here; connections later go to the targets `complete` opens.
    const receiver = new XferReceiver(join(opts.udsDir, `skiff-${process.pid}.xfer.sock`), (r) => {
      if (r.type !== RecordType.Listeners || sockets !== undefined) { for (const fd of r.fds) closeQuietly(nativeFd!, fd); return; }
      // Several records when there are many listeners: complete once `total` arrived.
      const meta = Array.isArray(r.json['listeners']) ? (r.json['listeners'] as Omit<InheritedSocket, 'fd'>[]) : [];
      for (const [i, fd] of r.fds.entries()) {
        const m = meta[i];
        if (m === undefined) closeQuietly(nativeFd!, fd);
        else received.push({ ...m, fd });
      }
      seen += Math.max(meta.length, r.fds.length);
      if (seen >= (Number(r.json['total']) || 0)) {
        sockets = received;
        maybeReady();
      }
    }, logger);
    const channel = new ControlChannel(socket, (m) => {
      if (takeover !== undefined) { takeover.onMessage(m); return; }
      if (m.t === 'refuse') {
        logger.warn({ reason: m['reason'] }, 'hot upgrade: the running Skiff refused the takeover; starting normally');
        channel.close();
        settle(undefined);
        return;
      }
      if (m.t === 'accept') { accept = m; maybeReady(); }
    }, (reason) => {
      if (takeover !== undefined) { takeover.onEnd(reason); return; }
      for (const s of sockets ?? received) closeQuietly(nativeFd!, s.fd);
      settle(undefined, new Error(`hot upgrade: the old process closed the conversation (${reason})`));
    });
    const timer = setTimeout(() => {
      channel.close();
      settle(undefined, new Error('hot upgrade: the old process did not hand over its sockets in time'));
    }, HELLO_TIMEOUT_MS);
    timer.unref();

    function maybeReady(): void {
      if (accept === undefined || sockets === undefined || settled) return;
      const fromPid = Number(accept['pid']);
      const { listenerFds, adminFd, unused, names } = matchSockets(opts.config, sockets);
      logger.info({ from: fromPid, listeners: listenerFds.size + (adminFd === undefined ? 0 : 1) }, 'hot upgrade: listeners inherited');
      takeover = new Takeover({ fromPid, channel, logger, counters: Array.isArray(accept['counters']) ? (accept['counters'] as CounterEntry[]) : [], listenerFds, adminFd, unused, names, startedAt, patienceMs: 2 * opts.config.server.gracefulTimeoutMs + 30_000 });
      settle(takeover);
    }

    try {
      receiver.start();
    } catch (err) {
      channel.close();
      settle(undefined, new Error(`hot upgrade: cannot open the transfer socket: ${(err as Error).message}`));
      return;
    }
    logger.info({ socket: path }, 'hot upgrade: taking over');
    channel.send({ t: 'hello', pid: process.pid, configPath: configIdentity(opts.configPath), takeover: opts.force, xfer: receiver.path });
  });
}

/** Which inherited socket serves which of our listeners: same bound address, or same configured one (port 0: same name too). */
export function matchSockets(config: SkiffConfig, sockets: readonly InheritedSocket[]): { listenerFds: Map<string, number>; adminFd: number | undefined; unused: number[]; names: Map<string, string> } {
  const used = new Set<InheritedSocket>();
  const listenerFds = new Map<string, number>();
  const names = new Map<string, string>();
  const pick = (name: string, address: Address, admin: boolean): InheritedSocket | undefined => {
    const text = address.text;
    const zeroPort = address.kind === 'tcp' && address.port === 0;
    return sockets.find((s) => !used.has(s) && s.admin === admin && (s.boundAddress === text || (s.configAddress === text && (!zeroPort || admin || s.name === name))));
  };
  for (const l of config.server.listeners) {
    if (!l.bindPort) continue;
    const s = pick(l.name, l.address, false);
    if (s === undefined) continue;
    used.add(s);
    listenerFds.set(l.name, s.fd);
    names.set(s.name, l.name);
  }
  let adminFd: number | undefined;
  if (config.admin !== undefined) {
    const s = pick('', config.admin.address, true);
    if (s !== undefined) { used.add(s); adminFd = s.fd; }
  }
  const unused = sockets.filter((s) => !used.has(s)).map((s) => s.fd);
  return { listenerFds, adminFd, unused, names };
}

/** --takeover: our own config's socket if there, else the only reconfig socket in the folder. */
function findAnyReconfigSocket(udsDir: string, configPath: string): string | undefined {
  const own = reconfigSocketPath(udsDir, configPath);
  let names: string[];
  try { names = readdirSync(udsDir).filter((n) => /^skiff-[0-9a-f]{12}\.reconfig\.sock$/.test(n)); } catch { return undefined; }
  if (names.some((n) => join(udsDir, n) === own)) return own;
  return names.length === 1 ? join(udsDir, names[0]!) : undefined;
}

function connectWithin(path: string, ms: number): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = connect({ path });
    const timer = setTimeout(() => { s.destroy(); resolve(undefined); }, ms);
    s.once('connect', () => { clearTimeout(timer); s.removeAllListeners('error'); resolve(s); });
    s.once('error', () => { clearTimeout(timer); s.destroy(); resolve(undefined); });
  });
}
