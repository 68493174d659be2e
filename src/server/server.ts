/**
 * Server layer: the composition root. It wires the observability, cluster manager, listeners and
 * admin API for one validated config, runs the process stages, and applies live config updates.
 * Each concern lives in its own file: listener-set.ts (binding and listener diffs), cluster-set.ts,
 * filter-chain-builder.ts, admin-bridge.ts, signals.ts, stages.ts.
 *
 *   start:  Initing → logger, stats, clusters → Starting → every listener bound (all or nothing)
 *           → admin bound → Running (/ready 200)
 *   update: applyConfig(next) — one at a time — diff; bind added/moved listeners (fail → nothing
 *           changed); clusters add/update; listeners update/drain; clusters removed; version + 1
 *   stop:   stopGracefully (SIGTERM) drains up to graceful_timeout; stopNow (SIGINT/SIGQUIT)
 */
import type { RouterConfig, SkiffConfig } from '../api/config.js';
import type { Registries } from '../api/registry.js';
import { AdminServer } from '../admin/index.js';
import type { ApplySummary } from '../admin/index.js';
import { diffConfigs, loadConfigDocument, type LoadResult } from '../config/index.js';
import { formatIssue } from '../base/errors.js';
import { LoggerRegistry, LogOutputs, ProcessLogger, StatsStore } from '../observability/index.js';
import { ClusterManagerImpl } from '../upstream/cluster-manager.js';
import { routeTableFor } from '../proxy/route-tables.js';
import { createAdminContext } from './admin-bridge.js';
import { addClusters, applyClusterChanges, removeClusters } from './cluster-set.js';
import { ListenerSet } from './listener-set.js';
import { PidFile } from './pid-file.js';
import { Stage, StageManager, stageName } from './stages.js';
import { join } from 'node:path';
import { ConnectionReceiver, migrateConnections, type MigrationCounts } from './upgrade/migrate.js';
import { configIdentity, emptyStatus, type UpgradeStatus } from './upgrade/control.js';
import { nativeFd } from '../base/native-fd.js';
import { handleFd } from '../network/connection/socket-connection.js';
import { adminListeningSocket, openUpgradeListener, type HandoverHost, type ListeningSocket, type UpgradeListener } from './upgrade/handover.js';
import { tryTakeover, type Takeover, type TakeoverHost } from './upgrade/takeover.js';
import { skiffVersion } from './version.js';
import { applySummary } from './apply-summary.js';

export interface ServerOptions {
  /** The registries the config was loaded with (custom `skiff_module` filters are registered there). */
  readonly registries: Registries;
  /** Directory relative paths resolve against (the config file's directory). */
  readonly baseDir: string;
  /** `--strict`: warnings in live updates are errors too. */
  readonly strict?: boolean;
  /** Shown in logs. */
  readonly configPath?: string;
  /**
   * Listener name → an already-listening socket to serve instead of binding: a worker's share of the
   * controller's sockets, or a socket inherited from the old process in a hot upgrade.
   */
  readonly listenerFds?: ReadonlyMap<string, number>;
  /** false: no admin API (a worker: the controller serves it). Default true. */
  readonly admin?: boolean;
  /** An inherited, already-listening admin socket (hot upgrade). */
  readonly adminFd?: number;
  /**
   * Hot upgrade: before binding, look for an old Skiff serving the same config file in `uds_dir` and
   * take over its sockets and connections (`force`: --takeover, even if it serves another file).
   */
  readonly upgrade?: { readonly force: boolean };
  /** Fields on every log line of this server (a worker: `{ worker: i }`). */
  readonly logBindings?: Readonly<Record<string, unknown>>;
}

export class Server {
  readonly stages: StageManager;
  readonly stats = new StatsStore();
  readonly loggers = new LoggerRegistry();
  readonly logger: ProcessLogger;
  readonly version = skiffVersion();
  readonly #options: ServerOptions;
  readonly #logOutputs: LogOutputs;
  readonly #clusterManager: ClusterManagerImpl;
  readonly #listeners: ListenerSet;
  /** Router configurations by name; replaced as a whole when an update commits. */
  #routers = new Map<string, RouterConfig>();
  #current: LoadResult;
  #configVersion = 1;
  #admin: AdminServer | undefined;
  #pidFile: PidFile | undefined;
  #ready = false;
  #draining = false;
  /** Serialises live updates: one applies at a time, in arrival order. */
  #updates: Promise<unknown> = Promise.resolve();
  #stopped: Promise<void> | undefined;
  /** Hot upgrade, either side (GET /api/v1/upgrade). */
  readonly upgradeStatus: UpgradeStatus = emptyStatus();
  #upgradeListener: UpgradeListener | undefined;
  #handingOver = false;
  /** The takeover this process started with (its predecessor's reconfig socket frees when it ends). */
  #takeover: Takeover | undefined;

  private constructor(load: LoadResult, options: ServerOptions) {
    this.#options = options;
    this.#current = load;
    this.stages = new StageManager(this.stats);
    this.stages.set(Stage.ParamsParsed);
    this.stages.set(Stage.Initing);
    const server = load.config.server;
    this.#logOutputs = new LogOutputs({ baseDir: options.baseDir });
    this.logger = ProcessLogger.create({ output: this.#logOutputs.open(server.defaultLogPath, { pinned: true }), level: server.defaultLogLevel, ...(options.logBindings ? { bindings: options.logBindings } : {}) });
    this.loggers.register(server.defaultLogPath, this.logger);
    this.stages.onChange((next) => this.logger.info({ stage: stageName(next), state: next }, 'stage'));
    this.#clusterManager = new ClusterManagerImpl({ registries: options.registries, stats: this.stats, logger: this.logger.child({ component: 'cluster_manager' }) });
    this.#listeners = new ListenerSet({
      registries: options.registries,
      clusterManager: this.#clusterManager,
      routers: { get: (name: string) => this.#routers.get(name) },
      stats: this.stats,
      logger: this.logger,
      logOutputs: this.#logOutputs,
    });
  }

  /** Builds and starts a server; rejects (with everything closed again) if any listener or admin cannot bind. */
  static async start(load: LoadResult, options: ServerOptions): Promise<Server> {
    const server = new Server(load, options);
    let takeover: Takeover | undefined;
    try {
      if (options.upgrade !== undefined && options.configPath !== undefined) {
        takeover = await tryTakeover({ udsDir: load.config.udsDir, configPath: options.configPath, config: load.config, force: options.upgrade.force, logger: server.logger });
      }
      await server.#start(takeover);
    } catch (err) {
      // The caller (main) reports the error as one line; here only undo what was started.
      takeover?.abort((err as Error).message);
      await server.stopNow();
      server.flushLogs();
      throw err;
    }
    if (takeover !== undefined) {
      server.#takeover = takeover;
      void takeover.complete(server.takeoverHost());
    }
    return server;
  }

  async #start(takeover?: Takeover): Promise<void> {
    const { config, warnings, notes } = this.#current;
    for (const w of warnings) this.logger.warn({ path: w.path }, `config warning: ${formatIssue(w)}`);
    for (const n of notes) this.logger.info({ path: n.path }, `config note: ${formatIssue(n)}`);
    this.stages.set(Stage.PreStart);
    addClusters(this.#clusterManager, config.clusters);
    this.#routers = compileRouters(config.server.routers);
    this.stages.set(Stage.Starting);
    await this.#listeners.bindAll(config.server.listeners, takeover?.listenerFds ?? this.#options.listenerFds);
    if (config.admin && this.#options.admin !== false) {
      this.#admin = new AdminServer({
        address: config.admin.address,
        context: createAdminContext(this),
        logger: this.logger.child({ component: 'admin' }),
      });
      await this.#admin.listen(takeover?.adminFd ?? this.#options.adminFd);
      this.logger.info({ address: `${config.admin.address.host}:${this.#admin.port}` }, 'admin API listening');
    }
    if (config.pidFile) {
      this.#pidFile = new PidFile(config.pidFile, this.#options.baseDir);
      this.#pidFile.write();
    }
    this.stages.set(Stage.AfterStart);
    this.stages.set(Stage.Running);
    this.#ready = true;
    this.logger.info({ version: this.version, config: this.#options.configPath, configVersion: this.#configVersion }, 'skiff is running');
  }

  get config(): SkiffConfig {
    return this.#current.config;
  }
  get document(): Readonly<Record<string, unknown>> {
    return this.#current.document;
  }
  get configVersion(): number {
    return this.#configVersion;
  }
  get ready(): boolean {
    return this.#ready;
  }
  get draining(): boolean {
    return this.#draining;
  }
  get gracefulTimeoutMs(): number {
    return this.#current.config.server.gracefulTimeoutMs;
  }
  /** The admin server's bound port (0 when there is none). */
  get adminPort(): number {
    return this.#admin?.port ?? 0;
  }
  /** A running listener's bound address text (the real port when config said 0). */
  listenerAddress(name: string): string | undefined {
    return this.#listeners.get(name)?.boundAddress.text;
  }

  // ── hot upgrade ──

  /**
   * The old side: answer new Skiffs that want to take over (reconfig socket in uds_dir). `exit` ends
   * the process once the connections are handed over. Off with `disable_upgrade`, without a config
   * file, or without the native addon (logged).
   */
  async listenForUpgrades(exit: () => void): Promise<void> {
    this.#upgradeListener = await openUpgradeListener({
      config: this.#current.config, configPath: this.#options.configPath, takeover: this.#takeover,
      stopping: () => this.stages.stopping, host: () => this.#handoverHost(exit), logger: this.logger,
    });
  }

  #handoverHost(exit: () => void): HandoverHost {
    const listening = (name: string, configAddress: string, boundAddress: string, fd: number | undefined): ListeningSocket[] =>
      fd === undefined ? [] : [{ name, configAddress, boundAddress, fd }];
    return {
      logger: this.logger,
      counters: () => Promise.resolve(this.stats.counterEntries()),
      version: this.version,
      gracefulTimeoutMs: this.gracefulTimeoutMs,
      configIdentity: configIdentity(this.#options.configPath ?? ''),
      status: this.upgradeStatus,
      canHandOver: () => this.#ready && !this.#draining && !this.#handingOver && !this.stages.stopping,
      listeningSockets: () => [...this.#listeners.active()].flatMap((l) => listening(l.name, l.config.address.text, l.boundAddress.text, l.listeningFd())),
      adminSocket: () => adminListeningSocket(this.#admin, this.#current.config.admin),
      releaseListeners: () => this.releaseListeners(),
      resumeListeners: () => this.resumeListeners(),
      migrate: (targets, deadlineMs, progress, cancelled) => this.migrateConnections(targets, deadlineMs, progress, cancelled),
      enterUpgrading: () => this.stages.set(Stage.Upgrading),
      exitAfterHandover: exit,
    };
  }

  /** SIGHUP's action (set by `skiff start` unless disable_upgrade): start the successor process. */
  hotUpgrade: (() => void) | undefined;

  /** Why a hot upgrade cannot start now (SIGHUP), or undefined. */
  upgradeBlocker(): string | undefined {
    if (this.#upgradeListener === undefined) return 'hot upgrade is unavailable (see the log at start)';
    if (this.#handingOver || this.upgradeStatus.state === 'handing_over') return 'an upgrade is already under way';
    if (!this.#ready) return 'not serving yet';
    return undefined;
  }

  /** Hot upgrade, old side: stop accepting everywhere; the new process serves the same sockets now. */
  async releaseListeners(): Promise<void> {
    this.#handingOver = true;
    this.#ready = false;
    // Keep a descriptor of each socket (never accepted on) in case the new process dies mid-way.
    const n = nativeFd;
    const keep = (fd: number | undefined): number | undefined => {
      if (n === undefined || fd === undefined) return undefined;
      try { return n.dup(fd); } catch { return undefined; }
    };
    this.#kept = { listeners: [...this.#listeners.active()].flatMap((l) => { const fd = keep(l.listeningFd()); return fd === undefined ? [] : [{ name: l.name, fd }]; }), admin: keep(this.#admin === undefined ? undefined : handleFd(this.#admin.server)) };
    await this.#listeners.releaseAll();
    await this.#admin?.close();
  }

  /** Sockets kept by `releaseListeners` (closed with the process). */
  #kept: { listeners: { name: string; fd: number }[]; admin: number | undefined } | undefined;

  /** Hot upgrade, old side: the new process went away mid-way — serve the kept sockets again. */
  async resumeListeners(): Promise<void> {
    const kept = this.#kept;
    this.#kept = undefined;
    for (const { name, fd } of kept?.listeners ?? []) {
      const l = this.#listeners.get(name);
      if (l === undefined) continue;
      try { await l.listen(fd); } catch (err) { this.logger.error({ err, listener: name }, 'hot upgrade: cannot serve a kept listening socket again'); }
    }
    if (kept?.admin !== undefined) await this.#admin?.listen(kept.admin).catch((err: unknown) => this.logger.error({ err }, 'hot upgrade: cannot serve the admin socket again'));
    this.#handingOver = false;
    this.#ready = true;
    this.stages.set(Stage.Running);
  }

  /** Hot upgrade, old side: moves this process's connections to the targets (see migrate.ts). */
  migrateConnections(targets: readonly string[], deadlineMs: number, progress?: (c: MigrationCounts) => void, cancelled?: () => boolean): Promise<MigrationCounts> {
    return migrateConnections({ connections: () => this.#listeners.downstreamConnections(), targets, deadlineMs, logger: this.logger, ...(progress ? { progress } : {}), ...(cancelled ? { cancelled } : {}) });
  }

  #receiver: ConnectionReceiver | undefined;

  /** Hot upgrade, new side: a target that adopts connections into this server's listeners. */
  openConnectionTarget(udsDir: string, names: ReadonlyMap<string, string>): string {
    this.#receiver?.close();
    const r = new ConnectionReceiver(join(udsDir, `skiff-${process.pid}.conn.sock`), (listener, socket, unread, protocol) => {
      const l = this.#listeners.get(listener);
      if (l === undefined) return false;
      l.adopt(socket, unread, protocol);
      return true;
    }, this.logger);
    r.names = new Map(names);
    r.start();
    this.#receiver = r;
    return r.path;
  }

  /** Stops receiving; returns how many connections were adopted. */
  closeConnectionTarget(): number {
    const r = this.#receiver;
    this.#receiver = undefined;
    r?.close();
    return r?.adopted ?? 0;
  }

  /** The new side: what a takeover needs once this server runs on the inherited sockets. */
  takeoverHost(): TakeoverHost {
    return {
      logger: this.logger,
      absorbCounters: (entries) => this.stats.absorbCounters(entries),
      status: this.upgradeStatus,
      openTargets: (names) => Promise.resolve([this.openConnectionTarget(this.#current.config.udsDir, names)]),
      closeTargets: () => { this.closeConnectionTarget(); },
    };
  }

  /** Validates a raw document with the same registries and options as at start, then applies it. */
  async applyDocument(raw: unknown): Promise<ApplySummary> {
    const next = await loadConfigDocument(raw, {
      registries: this.#options.registries,
      strict: this.#options.strict ?? false,
      baseDir: this.#options.baseDir,
      source: 'admin update',
    });
    return this.applyConfig(next);
  }

  /** Applies a validated config as a live update. Serialised; rejects (nothing changed) on a bind error. */
  applyConfig(next: LoadResult): Promise<ApplySummary> {
    const run = this.#updates.then(() => this.#apply(next));
    this.#updates = run.catch(() => undefined);
    return run;
  }

  async #apply(next: LoadResult): Promise<ApplySummary> {
    if (this.stages.stopping) throw new Error('the server is stopping; update refused');
    const prev = this.#current;
    const diff = diffConfigs(prev.config, next.config);
    const routers = compileRouters(next.config.server.routers);
    const plan = await this.#listeners.prepare(diff.listeners);
    try {
      applyClusterChanges(this.#clusterManager, diff.clusters, this.logger);
    } catch (err) {
      this.#listeners.abort(plan);
      throw err;
    }
    this.#routers = routers;
    this.#listeners.commit(plan, next.config.server.gracefulTimeoutMs);
    removeClusters(this.#clusterManager, diff.clusters.removed, this.logger);
    this.#current = next;
    this.#configVersion++;
    if (prev.config.server.defaultLogLevel !== next.config.server.defaultLogLevel) this.logger.setLevel(next.config.server.defaultLogLevel);
    if (prev.config.server.defaultLogPath !== next.config.server.defaultLogPath) {
      this.logger.warn({ path: next.config.server.defaultLogPath }, 'default_log_path changes take effect at restart');
    }
    this.#logOutputs.retain(next.config.server.listeners.flatMap((l) => l.accessLogs.map((a) => a.path)));
    for (const w of next.warnings) this.logger.warn({ path: w.path }, `config warning: ${formatIssue(w)}`);
    const summary = applySummary(this.#configVersion, diff);
    this.logger.info({ ...summary }, 'config update applied');
    return summary;
  }

  /**
   * What an operator's graceful-stop request (admin `POST /api/v1/graceful_stop`, a Kubernetes preStop
   * hook) runs: the process's SIGTERM path when `skiff start` installed it (drain, then exit 0), else
   * (embedded, tests) just the drain.
   */
  gracefulStopRequest: (() => void) | undefined;

  requestGracefulStop(): void {
    if (this.gracefulStopRequest !== undefined) this.gracefulStopRequest();
    else void this.stopGracefully();
  }

  /** SIGTERM: stop accepting everywhere, let connections finish up to graceful_timeout, close the rest. */
  stopGracefully(): Promise<void> {
    this.#stopped ??= this.#stopGracefully();
    return this.#stopped;
  }

  async #stopGracefully(): Promise<void> {
    this.stages.set(Stage.BeforeStop);
    this.#ready = false;
    this.#draining = true;
    this.stages.set(Stage.GracefulStopping);
    await this.#listeners.drainAll(this.gracefulTimeoutMs);
    await this.#finalStop();
  }

  /** SIGINT/SIGQUIT (and failed start): close everything now. */
  async stopNow(): Promise<void> {
    this.#ready = false;
    this.#draining = true;
    this.#listeners.closeAll();
    if (this.#stopped) {
      // A graceful stop is under way: its drains were just cut short; let it finish.
      return this.#stopped;
    }
    this.#stopped = this.#finalStop();
    return this.#stopped;
  }

  async #finalStop(): Promise<void> {
    this.stages.set(Stage.Stopping);
    this.#upgradeListener?.close();
    this.#receiver?.close();
    this.#listeners.closeAll();
    this.#clusterManager.close();
    await this.#admin?.close();
    this.#pidFile?.remove();
    // Access-log files are closed (the process log stays for the last lines).
    this.#logOutputs.retain([]);
    this.stages.set(Stage.AfterStop);
    this.stages.set(Stage.Stopped);
  }

  reopenLogs(): void {
    this.#logOutputs.reopenAll();
  }

  flushLogs(): void {
    this.#logOutputs.flushSync();
  }
}

/** Compiles every router configuration (cached per config object); throws ConfigError on the first bad one. */
function compileRouters(list: readonly RouterConfig[]): Map<string, RouterConfig> {
  const out = new Map<string, RouterConfig>();
  for (const r of list) {
    routeTableFor(r);
    out.set(r.name, r);
  }
  return out;
}
