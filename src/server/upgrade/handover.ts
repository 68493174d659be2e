/**
 * Server layer, hot upgrade — the OLD process's side. It listens on its reconfig socket for its whole
 * life. A new Skiff serving the same config file (or started with --takeover) says hello; then:
 *
 *   1. accept: the listening sockets (listeners + admin) go to the new process over the xfer
 *      channel, the counters in the reply; the old process goes on serving meanwhile.
 *   2. ready (the new process serves): stop accepting (the sockets stay open in the new process),
 *      then every downstream connection is brought to a request boundary and moves — socket and
 *      unread bytes — to one of the new serving processes; TLS and HTTP/2 connections are drained
 *      (Connection: close / GOAWAY). Left at graceful_timeout: closed after their writes.
 *   3. done (counts, final counters) → the old process exits 0.
 *
 * The new process going away before `ready` (it failed to start) aborts the upgrade; nothing had
 * changed here, so the old process just keeps serving.
 */
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import type { Logger } from '../../api/observability.js';
import type { CounterEntry } from '../../observability/index.js';
import type { SkiffConfig } from '../../api/config.js';
import { nativeFd } from '../../base/native-fd.js';
import { handleFd } from '../../network/connection/socket-connection.js';
import { ControlChannel, reconfigSocketPath, type ControlMessage, type UpgradeStatus } from './control.js';
import type { MigrationCounts } from './migrate.js';
import { encodeRecord, RecordType, restrictToOwner, XferSender } from './xfer.js';
import { removeSocketFile, socketFileAnswers } from '../../base/unix-socket-file.js';

export interface ListeningSocket {
  /** Listener name ('' for the admin socket). */
  readonly name: string;
  readonly configAddress: string;
  readonly boundAddress: string;
  readonly fd: number;
}

/** What the old process's server offers the handover. */
export interface HandoverHost {
  readonly logger: Logger;
  /** Every counter (summed over the workers), carried to the new process so stats continue. */
  counters(): Promise<CounterEntry[]>;
  readonly version: string;
  readonly gracefulTimeoutMs: number;
  /** The real path of the config file this process serves. */
  readonly configIdentity: string;
  readonly status: UpgradeStatus;
  /** True while serving normally (not stopping, not already handing over). */
  canHandOver(): boolean;
  listeningSockets(): ListeningSocket[];
  adminSocket(): ListeningSocket | undefined;
  /**
   * Stop accepting on every listener and the admin API; the new process serves the sockets now. The
   * sockets stay open here (not accepted on) so that `resumeListeners` can serve them again.
   */
  releaseListeners(): Promise<void>;
  /** The new process went away mid-handover: accept on the listeners and the admin API again. */
  resumeListeners(): Promise<void>;
  /**
   * Moves every downstream connection to the targets (or drains it) until none is left or the
   * deadline (ms since epoch) — here, or in every worker.
   */
  migrate(targets: readonly string[], deadlineMs: number, progress: (c: MigrationCounts) => void, cancelled: () => boolean): Promise<MigrationCounts>;
  /** Marks the process as upgrading (stage 13). */
  enterUpgrading(): void;
  /** The handover is over: close what is left and exit 0. */
  exitAfterHandover(): void;
}

/**
 * Opens the reconfig socket of a running Skiff (single process or controller) once it may hand over:
 * after its own takeover finished (the old process answers on the same path until then). Resolves
 * undefined (logged) when hot upgrade is off: disable_upgrade, no config file, no addon, a live socket.
 */
export async function openUpgradeListener(opts: {
  readonly config: SkiffConfig;
  readonly configPath: string | undefined;
  readonly takeover: { readonly finished: Promise<void> } | undefined;
  readonly stopping: () => boolean;
  readonly host: () => HandoverHost;
  readonly logger: Logger;
}): Promise<UpgradeListener | undefined> {
  const { config, configPath, logger } = opts;
  if (config.disableUpgrade || configPath === undefined) return undefined;
  if (nativeFd === undefined) {
    logger.warn('hot upgrade unavailable: the native addon is not built (npm install builds it)');
    return undefined;
  }
  if (opts.takeover !== undefined) await opts.takeover.finished;
  if (opts.stopping()) return undefined;
  const listener = new UpgradeListener(opts.host(), reconfigSocketPath(config.udsDir, configPath));
  try {
    await listener.listen();
  } catch (err) {
    logger.warn({ err: (err as Error).message, socket: listener.path }, 'hot upgrade unavailable: cannot listen on the reconfig socket');
    return undefined;
  }
  logger.info({ socket: listener.path }, 'hot upgrade: ready to hand over (reconfig socket)');
  return listener;
}

/** The admin API's listening socket as the handover offers it (undefined when there is none). */
export function adminListeningSocket(admin: { readonly port: number; readonly server: object } | undefined, config: SkiffConfig['admin']): ListeningSocket | undefined {
  const fd = admin === undefined ? undefined : handleFd(admin.server);
  if (admin === undefined || config === undefined || fd === undefined) return undefined;
  const host = config.address.host.includes(':') ? `[${config.address.host}]` : config.address.host;
  return { name: '', configAddress: config.address.text, boundAddress: `${host}:${admin.port}`, fd };
}

/** Listening sockets per Listeners record (the addon's limit is 64 descriptors a record). */
const FDS_PER_RECORD = 60;

/** How long the new process may take from hello to ready (config, clusters, binds). */
const READY_TIMEOUT_MS = 60_000;

export class UpgradeListener {
  readonly path: string;
  readonly #host: HandoverHost;
  readonly #logger: Logger;
  #server: NetServer | undefined;
  #busy = false;

  constructor(host: HandoverHost, path: string) {
    this.#host = host;
    this.#logger = host.logger;
    this.path = path;
  }

  /** Listens on the reconfig socket; a live one (another Skiff serving this config) is an error. */
  async listen(): Promise<void> {
    if (await socketFileAnswers(this.path)) throw new Error(`another Skiff answers on ${this.path}`);
    removeSocketFile(this.path);
    const server = createServer((s) => this.#onConnection(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ path: this.path }, () => {
        server.off('error', reject);
        restrictToOwner(this.path);
        server.on('error', (err) => this.#logger.error({ err }, 'hot upgrade: reconfig socket error'));
        resolve();
      });
    });
    this.#server = server;
  }

  close(): void {
    const s = this.#server;
    // Closed already (at the handover): the path may be the new process's socket by now.
    if (s === undefined) return;
    this.#server = undefined;
    s.close();
    removeSocketFile(this.path);
  }

  #onConnection(socket: Socket): void {
    socket.on('error', () => socket.destroy());
    let session: HandoverSession | undefined;
    const channel = new ControlChannel(
      socket,
      (m) => {
        if (session !== undefined) { session.onMessage(m); return; }
        if (m.t !== 'hello') { channel.send({ t: 'refuse', reason: 'expected hello' }); channel.close(); return; }
        const refusal = this.#refusal(m);
        if (refusal !== undefined) {
          this.#logger.warn({ from: m['pid'], reason: refusal }, 'hot upgrade: refused a takeover');
          channel.send({ t: 'refuse', reason: refusal });
          channel.close();
          return;
        }
        this.#busy = true;
        session = new HandoverSession(this.#host, channel, m, () => { this.#busy = false; }, () => this.close());
        void session.start().catch((err: unknown) => this.#logger.error({ err }, 'hot upgrade: offering the sockets failed'));
      },
      (reason) => session?.onEnd(reason),
    );
  }

  #refusal(hello: ControlMessage): string | undefined {
    if (this.#busy) return 'an upgrade is already under way';
    if (!this.#host.canHandOver()) return 'the old process is stopping';
    if (typeof hello['xfer'] !== 'string' || typeof hello['pid'] !== 'number') return 'bad hello';
    if (hello['configPath'] !== this.#host.configIdentity && hello['takeover'] !== true) {
      return `this Skiff serves ${this.#host.configIdentity}, not ${String(hello['configPath'])} (start the new one with --takeover to replace it anyway)`;
    }
    return undefined;
  }
}

class HandoverSession {
  readonly #host: HandoverHost;
  readonly #channel: ControlChannel;
  readonly #logger: Logger;
  readonly #peerPid: number;
  readonly #xferPath: string;
  readonly #onAbort: () => void;
  readonly #closeListener: () => void;
  #sender: XferSender | undefined;
  #readyTimer: NodeJS.Timeout | undefined;
  #phase: 'offered' | 'handing_over' | 'done' | 'aborted' = 'offered';
  /** The new process went away while connections were moving to it. */
  #peerGone = '';
  #startedAt = 0;

  constructor(host: HandoverHost, channel: ControlChannel, hello: ControlMessage, onAbort: () => void, closeListener: () => void) {
    this.#host = host;
    this.#channel = channel;
    this.#logger = host.logger;
    this.#peerPid = hello['pid'] as number;
    this.#xferPath = hello['xfer'] as string;
    this.#onAbort = onAbort;
    this.#closeListener = closeListener;
  }

  async start(): Promise<void> {
    const host = this.#host;
    this.#startedAt = Date.now();
    let sender: XferSender;
    try {
      sender = XferSender.connect(this.#xferPath);
    } catch (err) {
      this.#abort(`cannot reach the new process's transfer socket: ${(err as Error).message}`);
      return;
    }
    this.#sender = sender;
    const sockets = host.listeningSockets();
    const admin = host.adminSocket();
    const all = admin === undefined ? sockets : [...sockets, admin];
    const meta = all.map((s) => ({ name: s.name, configAddress: s.configAddress, boundAddress: s.boundAddress, admin: s === admin }));
    // A record carries at most 64 descriptors: many listeners travel in several records.
    for (let off = 0; off === 0 || off < all.length; off += FDS_PER_RECORD) {
      const part = all.slice(off, off + FDS_PER_RECORD);
      sender.send(() => ({ data: encodeRecord(RecordType.Listeners, { total: all.length, offset: off, listeners: meta.slice(off, off + FDS_PER_RECORD) }), fds: part.map((s) => s.fd) }));
    }
    this.#channel.send({ t: 'accept', pid: process.pid, version: host.version, counters: await host.counters().catch(() => []), listeners: meta.length });
    this.#logger.info({ to: this.#peerPid, listeners: meta.length }, 'hot upgrade: listening sockets sent to the new process');
    this.#readyTimer = setTimeout(() => this.#abort('the new process did not become ready in time'), READY_TIMEOUT_MS);
    this.#readyTimer.unref();
  }

  onMessage(m: ControlMessage): void {
    if (m.t === 'ready' && this.#phase === 'offered') {
      clearTimeout(this.#readyTimer);
      const targets = Array.isArray(m['targets']) ? (m['targets'] as unknown[]).filter((x): x is string => typeof x === 'string') : [];
      void this.#handOver(targets).catch((err: unknown) => {
        this.#logger.error({ err }, 'hot upgrade: handover failed; exiting after a drain');
        this.#host.exitAfterHandover();
      });
    }
  }

  onEnd(reason: string): void {
    if (this.#phase === 'offered') this.#abort(`the new process went away before it was ready (${reason})`);
    else if (this.#phase === 'handing_over') this.#peerGone = reason;
  }

  #abort(reason: string): void {
    if (this.#phase !== 'offered') return;
    this.#phase = 'aborted';
    clearTimeout(this.#readyTimer);
    this.#sender?.close();
    this.#channel.send({ t: 'abort', reason });
    this.#channel.close();
    const st = this.#host.status;
    st.state = 'failed';
    st.to = this.#peerPid;
    st.reason = reason;
    this.#logger.warn({ to: this.#peerPid, reason }, 'hot upgrade: aborted');
    this.#onAbort();
  }

  async #handOver(targets: string[]): Promise<void> {
    const host = this.#host;
    this.#phase = 'handing_over';
    const st = host.status;
    Object.assign(st, { state: 'handing_over', to: this.#peerPid, startedAt: new Date(this.#startedAt).toISOString(), connectionsMigrated: 0, connectionsDrained: 0, connectionsClosed: 0 });
    host.enterUpgrading();
    this.#logger.info({ to: this.#peerPid, targets: targets.length }, 'hot upgrade: handing over');
    await host.releaseListeners();
    this.#sender?.close();
    let last = 0;
    const counts = await host.migrate(targets, Date.now() + host.gracefulTimeoutMs, (c) => {
      st.connectionsMigrated = c.migrated;
      st.connectionsDrained = c.drained;
      st.connectionsClosed = c.closed;
      const now = Date.now();
      if (now - last < 200) return;
      last = now;
      this.#channel.send({ t: 'progress', ...c });
    }, () => this.#peerGone !== '');
    if (this.#peerGone !== '') {
      // The new process died mid-way: what moved is lost with it, everything else is still here.
      await host.resumeListeners();
      Object.assign(st, { state: 'failed', reason: `the new process went away during the handover (${this.#peerGone})`, connectionsMigrated: counts.migrated, ms: Date.now() - this.#startedAt });
      this.#phase = 'aborted';
      this.#logger.warn({ to: this.#peerPid, migrated: counts.migrated, reason: this.#peerGone }, 'hot upgrade: the new process went away during the handover; serving again');
      this.#onAbort();
      return;
    }
    st.connectionsMigrated = counts.migrated;
    st.connectionsDrained = counts.drained;
    st.connectionsClosed = counts.closed;
    st.state = 'complete';
    st.ms = Date.now() - this.#startedAt;
    this.#phase = 'done';
    // The reconfig socket frees before `done`: the new process listens on that path once it hears it.
    this.#closeListener();
    const summary = { migrated: counts.migrated, drained: counts.drained, closed: counts.closed, ms: st.ms };
    this.#channel.send({ t: 'done', ...summary, counters: await host.counters().catch(() => []) });
    this.#logger.info({ to: this.#peerPid, ...summary }, 'hot upgrade: done');
    this.#channel.close();
    host.exitAfterHandover();
  }
}
