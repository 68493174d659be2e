/**
 * Server layer (workers): the controller process of `processor > 1`. It owns what must exist once
 * per Skiff: the listening sockets (bound here, never accepted on: every worker accepts on the same
 * socket), the admin API (stats summed over workers), the pid file, config updates and the
 * signals. The data plane runs only in the workers (worker-main.ts), each a full Server.
 *
 *   start:   bind every bind_port listener (all or nothing) → admin → fork N workers, each
 *            `start`ed on the shared fds → all ready → Running
 *   update:  validate here; same listeners → `apply` to every worker; listeners added/moved/removed →
 *            bind the new sockets (a failed bind changes nothing), roll the workers onto them one at
 *            a time, close the sockets no longer used
 *   stop:    SIGTERM → every worker drains (≤ graceful_timeout + 3 s, then SIGKILL), exit 0;
 *            SIGINT/SIGQUIT → workers close now; SIGUSR1 → reopen logs here and in every worker
 */
import { fileURLToPath } from 'node:url';
import type { Registries } from '../../api/registry.js';
import type { ApplySummary } from '../../admin/index.js';
import { AdminServer } from '../../admin/index.js';
import { ErrorCode, formatIssue, SkiffError } from '../../base/errors.js';
import type { NativeFd } from '../../base/native-fd.js';
import { diffConfigs, loadConfigDocument, type LoadResult } from '../../config/index.js';
import { LoggerRegistry, LogOutputs, ProcessLogger, StatsStore, type StatsSnapshot } from '../../observability/index.js';
import { PidFile } from '../pid-file.js';
import type { SignalTarget } from '../signals.js';
import { Stage, StageManager, stageName } from '../stages.js';
import { skiffVersion } from '../version.js';
import { createControllerAdminContext } from './controller-admin.js';
import { ListenerFds } from './listener-fds.js';
import type { ApplyFailedMessage, AppliedMessage, StatsReplyMessage } from './messages.js';
import { mergeStatsSnapshots, overlayStats } from './stats-merge.js';
import { WorkerPool, type WorkerInfo } from './worker-pool.js';
import { UpgradeRequest } from './worker-upgrade.js';
import { handleFd } from '../../network/connection/socket-connection.js';
import type { SkiffConfig } from '../../api/config.js';
import type { CounterEntry } from '../../observability/index.js';
import { configIdentity, emptyStatus, type UpgradeStatus } from '../upgrade/control.js';
import { adminListeningSocket, openUpgradeListener, type HandoverHost, type UpgradeListener } from '../upgrade/handover.js';
import { sumByKey, tryTakeover, type Takeover, type TakeoverHost } from '../upgrade/takeover.js';
import { applySummary } from '../apply-summary.js';

/** `<outDir>/src/main.js`, relative to this compiled file (`<outDir>/src/server/workers/`). */
const MAIN_JS = fileURLToPath(new URL('../../main.js', import.meta.url));

/** A fast stop gives workers this long before they are killed (signals.ts exits the process at 700 ms). */
const FAST_STOP_MS = 500;
/** After graceful_timeout, workers get this much longer before SIGKILL. */
const GRACE_EXTRA_MS = 3000;

export interface ControllerOptions {
  readonly registries: Registries;
  readonly baseDir: string;
  readonly strict?: boolean;
  readonly configPath?: string;
  /** Worker processes (> 1). */
  readonly workers: number;
  readonly native: NativeFd;
  /** The entry workers run; default this build's main.js. */
  readonly mainJs?: string;
  /** Hot upgrade: take over an old Skiff of the same config first (`force`: --takeover). */
  readonly upgrade?: { readonly force: boolean };
}

/** A logger registry whose level changes also reach every worker's logger of the same name. */
class ForwardingLoggerRegistry extends LoggerRegistry {
  forward: ((name: string, level: string) => void) | undefined;
  override setLevel(name: string, level: Parameters<LoggerRegistry['setLevel']>[1]): boolean {
    const ok = super.setLevel(name, level);
    this.forward?.(name, level);
    return ok;
  }
}

/**
 * What workers are started with: the controller's document without the keys only the controller
 * acts on (`admin`: one admin API; `pid`: one pid file).
 */
function workerDocument(document: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> {
  const copy: Record<string, unknown> = { ...document };
  delete copy['admin'];
  delete copy['pid'];
  return copy;
}

export class Controller {
  readonly stats = new StatsStore();
  readonly stages = new StageManager(this.stats);
  readonly loggers = new ForwardingLoggerRegistry();
  readonly logger: ProcessLogger;
  readonly version = skiffVersion();
  readonly #options: ControllerOptions;
  readonly #logOutputs: LogOutputs;
  readonly #fds: ListenerFds;
  readonly #pool: WorkerPool;
  #current: LoadResult;
  #configVersion = 1;
  #admin: AdminServer | undefined;
  #pidFile: PidFile | undefined;
  #ready = false;
  #draining = false;
  #updates: Promise<unknown> = Promise.resolve();
  #stopped: Promise<void> | undefined;
  /** Hot upgrade, either side (GET /api/v1/upgrade). */
  readonly upgradeStatus: UpgradeStatus = emptyStatus();
  /** Counters carried over from the process this one took over from (added to the workers' sums). */
  readonly #carried = new StatsStore();
  #upgradeListener: UpgradeListener | undefined;
  #takeover: Takeover | undefined;
  #handingOver = false;
  /** The admin socket kept through a handover (served again if the new process dies mid-way). */
  #keptAdminFd: number | undefined;
  /** SIGHUP's action (set by `skiff start` unless disable_upgrade). */
  hotUpgrade: (() => void) | undefined;

  private constructor(load: LoadResult, options: ControllerOptions) {
    this.#options = options;
    this.#current = load;
    this.stages.set(Stage.ParamsParsed);
    this.stages.set(Stage.Initing);
    const server = load.config.server;
    this.#logOutputs = new LogOutputs({ baseDir: options.baseDir });
    this.logger = ProcessLogger.create({
      output: this.#logOutputs.open(server.defaultLogPath, { pinned: true }),
      level: server.defaultLogLevel,
      bindings: { role: 'controller' },
    });
    this.loggers.register(server.defaultLogPath, this.logger);
    this.stages.onChange((next) => this.logger.info({ stage: stageName(next), state: next }, 'stage'));
    this.#fds = new ListenerFds(options.native, this.logger);
    this.#pool = new WorkerPool(
      {
        count: options.workers,
        mainJs: options.mainJs ?? MAIN_JS,
        logger: this.logger,
        baseDir: options.baseDir,
        configPath: options.configPath,
        strict: options.strict ?? false,
      },
      { document: workerDocument(load.document), fds: new Map() },
    );
    this.loggers.forward = (path, level) => {
      void this.#pool.request({ type: 'log-level', path: path === '' ? '' : path, level }).catch(() => undefined);
    };
  }

  /** Binds, starts the admin API and every worker; rejects (everything closed, workers killed) on failure. */
  static async start(load: LoadResult, options: ControllerOptions): Promise<Controller> {
    const c = new Controller(load, options);
    let takeover: Takeover | undefined;
    try {
      if (options.upgrade !== undefined && options.configPath !== undefined) {
        takeover = await tryTakeover({ udsDir: load.config.udsDir, configPath: options.configPath, config: load.config, force: options.upgrade.force, logger: c.logger });
      }
      await c.#start(takeover);
    } catch (err) {
      takeover?.abort((err as Error).message);
      c.#pool.killAll();
      await c.#admin?.close();
      c.#fds.closeAll();
      c.#pidFile?.remove();
      c.#logOutputs.flushSync();
      throw err;
    }
    if (takeover !== undefined) {
      c.#takeover = takeover;
      void takeover.complete(c.#takeoverHost());
    }
    return c;
  }

  async #start(takeover?: Takeover): Promise<void> {
    const { config, warnings, notes } = this.#current;
    for (const w of warnings) this.logger.warn({ path: w.path }, `config warning: ${formatIssue(w)}`);
    for (const n of notes) this.logger.info({ path: n.path }, `config note: ${formatIssue(n)}`);
    this.stages.set(Stage.PreStart);
    this.stages.set(Stage.Starting);
    const listeners = config.server.listeners;
    if (takeover !== undefined) this.#fds.adoptInherited(listeners, takeover.listenerFds);
    this.#fds.commit(listeners, await this.#fds.bindMissing(listeners));
    if (config.admin) {
      this.#admin = new AdminServer({
        address: config.admin.address,
        context: createControllerAdminContext(this),
        logger: this.logger.child({ component: 'admin' }),
      });
      await this.#admin.listen(takeover?.adminFd);
      this.logger.info({ address: `${config.admin.address.host}:${this.#admin.port}` }, 'admin API listening');
    }
    this.#pool.setGeneration({ document: workerDocument(this.#current.document), fds: this.#fds.fds() });
    await this.#pool.start();
    if (config.pidFile) {
      this.#pidFile = new PidFile(config.pidFile, this.#options.baseDir);
      this.#pidFile.write();
    }
    this.stages.set(Stage.AfterStart);
    this.stages.set(Stage.Running);
    this.#ready = true;
    this.logger.info(
      { version: this.version, config: this.#options.configPath, configVersion: this.#configVersion, workers: this.#pool.size, pids: this.#pool.pids() },
      'skiff is running',
    );
  }

  /** The worker pool (hot upgrade drives it: `request`, `listenerFds`, `workers`). */
  get pool(): WorkerPool {
    return this.#pool;
  }
  get document(): Readonly<Record<string, unknown>> {
    return this.#current.document;
  }
  get configVersion(): number {
    return this.#configVersion;
  }
  /**
   * Ready once every worker started, then while at least one serves: a worker being replaced after a
   * crash must not take the whole pod out of a load balancer while the others accept.
   */
  get ready(): boolean {
    return this.#ready && !this.#draining && this.#pool.workers().some((w) => w.state === 'running');
  }
  get draining(): boolean {
    return this.#draining;
  }
  get adminPort(): number {
    return this.#admin?.port ?? 0;
  }
  /** The real address of a listener's shared socket. */
  listenerAddress(name: string): string | undefined {
    return this.#fds.get(name)?.text;
  }
  workers(): WorkerInfo[] {
    return this.#pool.workers();
  }

  /** Every worker's stats, summed (see stats-merge.ts); the process state is the controller's own. */
  async statsSnapshot(type?: string): Promise<StatsSnapshot> {
    const replies = await this.#pool.request<StatsReplyMessage>(type === undefined ? { type: 'stats' } : { type: 'stats', statType: type }, 5000);
    const merged = mergeStatsSnapshots([...replies.filter((r) => r.type === 'stats-reply').map((r) => r.snapshot), this.#carried.snapshot(type)]);
    return overlayStats(merged, this.stats.snapshot(type));
  }

  /** Validates a raw document with the same registries and options as at start, then applies it. */
  async applyDocument(raw: unknown): Promise<ApplySummary> {
    const next = await loadConfigDocument(raw, {
      registries: this.#options.registries,
      strict: this.#options.strict ?? false,
      baseDir: this.#options.baseDir,
      source: 'admin update',
    });
    const run = this.#updates.then(() => this.#apply(next));
    this.#updates = run.catch(() => undefined);
    return run;
  }

  async #apply(next: LoadResult): Promise<ApplySummary> {
    if (this.stages.stopping) throw new SkiffError(ErrorCode.Update, 'skiff is stopping; update refused');
    const prev = this.#current;
    const diff = diffConfigs(prev.config, next.config);
    const listeners = next.config.server.listeners;
    const document = workerDocument(next.document);
    if (this.#fds.sameAs(listeners)) {
      const before = this.#pool.document;
      this.#pool.setDocument(document); // a worker restarted from now on starts on the new config
      const replies = await this.#pool.request<AppliedMessage | ApplyFailedMessage>({ type: 'apply', document });
      const failed = replies.filter((r): r is ApplyFailedMessage & { worker: number } => r.type !== 'applied');
      if (failed.length > 0 && failed.length === replies.length) {
        this.#pool.setDocument(before);
        throw new SkiffError(ErrorCode.Update, failed[0]?.error ?? 'no worker applied the update');
      }
      for (const f of failed) {
        this.logger.error({ worker: f.worker, error: f.error }, 'a worker could not apply the update; replacing it');
        this.#pool.replace(f.worker);
      }
    } else {
      const fresh = await this.#fds.bindMissing(listeners); // throws → nothing changed
      const fds = new Map<string, number>();
      const freshByName = new Map(fresh.map((b) => [b.name, b.fd]));
      const current = this.#fds.fds();
      for (const l of listeners) {
        if (!l.bindPort) continue;
        const fd = freshByName.get(l.name) ?? current.get(l.name);
        if (fd !== undefined) fds.set(l.name, fd);
      }
      try {
        await this.#pool.roll({ document, fds });
      } catch (err) {
        this.#fds.abort(fresh);
        throw new SkiffError(ErrorCode.Update, `the workers could not start on the new listeners: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      this.#fds.commit(listeners, fresh);
    }
    this.#current = next;
    this.#configVersion++;
    if (prev.config.server.defaultLogLevel !== next.config.server.defaultLogLevel) this.logger.setLevel(next.config.server.defaultLogLevel);
    const summary = applySummary(this.#configVersion, diff);
    this.logger.info({ ...summary, workers: this.#pool.size }, 'config update applied');
    return summary;
  }

  /** Admin graceful stop: the process's SIGTERM path when main installed it. */
  gracefulStopRequest: (() => void) | undefined;

  requestGracefulStop(): void {
    if (this.gracefulStopRequest !== undefined) this.gracefulStopRequest();
    else void this.stopGracefully();
  }

  stopGracefully(): Promise<void> {
    this.#stopped ??= (async () => {
      this.stages.set(Stage.BeforeStop);
      this.#draining = true;
      this.stages.set(Stage.GracefulStopping);
      const stopping = this.#pool.stop(true, this.#current.config.server.gracefulTimeoutMs + GRACE_EXTRA_MS);
      // The workers stop accepting now; the controller's copies must close too, or the kernel would
      // still complete handshakes into a backlog nobody accepts from (instead of refusing them).
      this.#fds.closeAll();
      await stopping;
      await this.#finalStop();
    })();
    return this.#stopped;
  }

  stopNow(): Promise<void> {
    this.#draining = true;
    if (this.#stopped) {
      void this.#pool.stop(false, FAST_STOP_MS);
      return this.#stopped;
    }
    this.#stopped = (async () => {
      await this.#pool.stop(false, FAST_STOP_MS);
      await this.#finalStop();
    })();
    return this.#stopped;
  }

  async #finalStop(): Promise<void> {
    this.stages.set(Stage.Stopping);
    this.#upgradeListener?.close();
    await this.#admin?.close();
    this.#fds.closeAll();
    this.#pidFile?.remove();
    this.stages.set(Stage.AfterStop);
    this.stages.set(Stage.Stopped);
    this.logger.info('all workers stopped');
  }

  reopenLogs(): void {
    this.#logOutputs.reopenAll();
    this.#pool.broadcast({ type: 'reopen-logs' });
  }

  flushLogs(): void {
    this.#logOutputs.flushSync();
  }

  /** What installSignalHandlers drives; its watchdog must outlast the workers' drain and their SIGKILL. */
  signalTarget(): SignalTarget {
    return {
      stopGracefully: () => this.stopGracefully(),
      stopNow: () => this.stopNow(),
      reopenLogs: () => this.reopenLogs(),
      flushLogs: () => this.flushLogs(),
      gracefulTimeoutMs: this.#current.config.server.gracefulTimeoutMs + GRACE_EXTRA_MS + 1000,
      hotUpgrade: this.hotUpgrade,
    };
  }

  // ── hot upgrade (the protocol: src/server/upgrade/) ──

  /** The old side: answer new Skiffs that want to take over; `exit` ends the process after the handover. */
  async listenForUpgrades(exit: () => void): Promise<void> {
    this.#upgradeListener = await openUpgradeListener({
      config: this.#current.config, configPath: this.#options.configPath, takeover: this.#takeover,
      stopping: () => this.stages.stopping, host: () => this.#handoverHost(exit), logger: this.logger,
    });
  }

  /** Why a hot upgrade cannot start now (SIGHUP), or undefined. */
  upgradeBlocker(): string | undefined {
    if (this.#upgradeListener === undefined) return 'hot upgrade is unavailable (see the log at start)';
    if (this.#handingOver) return 'an upgrade is already under way';
    if (!this.#ready) return 'not serving yet';
    return undefined;
  }

  #handoverHost(exit: () => void): HandoverHost {
    const cfg = (): SkiffConfig => this.#current.config;
    return {
      logger: this.logger,
      version: this.version,
      gracefulTimeoutMs: cfg().server.gracefulTimeoutMs,
      configIdentity: configIdentity(this.#options.configPath ?? ''),
      status: this.upgradeStatus,
      counters: async () => {
        const replies = await this.#pool.request<{ type: string; id: number; counters?: CounterEntry[] }>({ type: UpgradeRequest.Counters }, 5000);
        return [...sumByKey([...replies.flatMap((r) => r.counters ?? []), ...this.#carried.counterEntries()]).values()];
      },
      canHandOver: () => this.#ready && !this.#draining && !this.#handingOver && !this.stages.stopping,
      listeningSockets: () => cfg().server.listeners.flatMap((l) => {
        const b = l.bindPort ? this.#fds.get(l.name) : undefined;
        return b === undefined ? [] : [{ name: l.name, configAddress: l.address.text, boundAddress: b.text, fd: b.fd }];
      }),
      adminSocket: () => adminListeningSocket(this.#admin, cfg().admin),
      // The controller's own socket copies stay open (it never accepts on them): a resume serves them again.
      releaseListeners: async () => {
        this.#handingOver = true;
        await this.#pool.request({ type: UpgradeRequest.Release }, 10_000);
        this.#fds.disownPaths();
        const adminFd = this.#admin === undefined ? undefined : handleFd(this.#admin.server);
        this.#keptAdminFd = adminFd === undefined ? undefined : this.#options.native.dup(adminFd);
        await this.#admin?.close();
      },
      resumeListeners: async () => {
        await this.#pool.request({ type: UpgradeRequest.Resume }, 10_000);
        const fd = this.#keptAdminFd;
        this.#keptAdminFd = undefined;
        if (fd !== undefined) await this.#admin?.listen(fd).catch((err: unknown) => this.logger.error({ err }, 'hot upgrade: cannot serve the admin socket again'));
        this.#handingOver = false;
        this.stages.set(Stage.Running);
      },
      migrate: async (targets, deadlineMs, progress) => {
        const replies = await this.#pool.request<{ type: string; id: number; migrated?: number; drained?: number; closed?: number }>(
          { type: UpgradeRequest.Handover, targets, deadlineMs }, Math.max(0, deadlineMs - Date.now()) + 10_000);
        const sum = { migrated: 0, drained: 0, closed: 0 };
        for (const r of replies) {
          sum.migrated += r.migrated ?? 0;
          sum.drained += r.drained ?? 0;
          sum.closed += r.closed ?? 0;
        }
        progress(sum);
        return sum;
      },
      enterUpgrading: () => this.stages.set(Stage.Upgrading),
      exitAfterHandover: exit,
    };
  }

  #takeoverHost(): TakeoverHost {
    return {
      logger: this.logger,
      status: this.upgradeStatus,
      absorbCounters: (entries) => this.#carried.absorbCounters(entries),
      openTargets: async (names) => {
        const replies = await this.#pool.request<{ type: string; id: number; path?: string }>({ type: UpgradeRequest.Receive, udsDir: this.#current.config.udsDir, names: [...names] }, 10_000);
        return replies.map((r) => r.path).filter((p): p is string => typeof p === 'string');
      },
      closeTargets: () => { void this.#pool.request({ type: UpgradeRequest.ReceiveEnd }, 10_000).catch(() => undefined); },
    };
  }
}
