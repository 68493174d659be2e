/**
 * Server layer (workers): the controller's worker processes. Each slot (0 … N-1) always wants one
 * live worker; the pool forks it with the listening sockets as inherited fds (worker fd 4, 5, …),
 * sends `start`, and replaces it when it dies.
 *
 *   slot:  spawn ─▶ starting ─ready─▶ running ─exit─▶ restarting (backoff) ─▶ spawn …
 *                        └─failed/exit─▶ restarting (3 in a row during the pool's start → start fails)
 *   backoff: 0.5 s, doubling to 30 s; back to 0.5 s once a worker served for 60 s.
 *
 *   roll(generation)   listeners changed: one slot at a time, fork a worker on the new sockets, wait
 *                      for ready, tell the old one to drain. The first new worker is the test: if it
 *                      cannot start, nothing changed and roll rejects.
 *   request(message)   one message to every live worker, one reply each (by `id`); a worker that
 *                      exits or does not answer in time is left out of the replies.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { Logger } from '../../api/observability.js';
import { FIRST_LISTENER_FD, isMessage, WORKER_COMMAND, type ControllerMessage, type ReplyEnvelope, type StartMessage } from './messages.js';

export type WorkerState = 'starting' | 'running' | 'draining' | 'restarting' | 'stopped';

/** One row of `GET /api/v1/workers`. */
export interface WorkerInfo {
  readonly index: number;
  readonly pid: number | undefined;
  readonly state: WorkerState;
  /** How many times this slot's worker was replaced after dying. */
  readonly restarts: number;
}

/** What a worker is started with: the config document and the listening sockets (name → controller fd). */
export interface WorkerGeneration {
  readonly document: Readonly<Record<string, unknown>>;
  readonly fds: ReadonlyMap<string, number>;
}

export interface WorkerPoolOptions {
  readonly count: number;
  /** The CLI entry a worker runs (`main.js`, with the `__worker` command). */
  readonly mainJs: string;
  readonly logger: Logger;
  readonly baseDir: string;
  readonly configPath: string | undefined;
  readonly strict: boolean;
  /** A worker that is not ready this long after fork is killed (default 30 s). */
  readonly readyTimeoutMs?: number;
  /** `request` leaves out a worker that has not answered after this long (default 30 s). */
  readonly requestTimeoutMs?: number;
}

const FIRST_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;
const HEALTHY_MS = 60_000;
const START_FAILURES = 3;

type Reply = ReplyEnvelope & { readonly worker: number };

class WorkerProcess {
  readonly child: ChildProcess;
  readonly index: number;
  readonly pid: number | undefined;
  state: 'starting' | 'running' | 'draining' = 'starting';
  readyAt: number | undefined;
  lastError: string | undefined;
  exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly pending = new Map<number, (reply: ReplyEnvelope | undefined) => void>();
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
  #readyResolve!: () => void;
  #readyReject!: (err: Error) => void;
  #exitedResolve!: () => void;

  constructor(child: ChildProcess, index: number) {
    this.child = child;
    this.index = index;
    this.pid = child.pid;
    this.ready = new Promise((resolve, reject) => {
      this.#readyResolve = resolve;
      this.#readyReject = reject;
    });
    this.ready.catch(() => undefined);
    this.exited = new Promise((resolve) => (this.#exitedResolve = resolve));
  }

  get alive(): boolean {
    return this.exitInfo === undefined;
  }

  markReady(): void {
    this.state = 'running';
    this.readyAt = Date.now();
    this.#readyResolve();
  }

  markExited(code: number | null, signal: NodeJS.Signals | null): void {
    this.exitInfo = { code, signal };
    const why = this.lastError ?? `worker ${this.index} exited (${signal ?? `code ${code}`}) before it was ready`;
    this.#readyReject(new Error(why));
    for (const settle of this.pending.values()) settle(undefined);
    this.pending.clear();
    this.#exitedResolve();
  }

  failStart(message: string): void {
    this.#readyReject(new Error(message));
  }

  send(message: ControllerMessage | { readonly type: string; readonly [key: string]: unknown }): boolean {
    if (!this.alive || !this.child.connected) return false;
    try {
      this.child.send(message, (err) => {
        if (err) this.lastError ??= `IPC send failed: ${err.message}`;
      });
      return true;
    } catch {
      return false;
    }
  }
}

interface Slot {
  readonly index: number;
  current: WorkerProcess | undefined;
  restarts: number;
  backoffMs: number;
  failuresInRow: number;
  timer: NodeJS.Timeout | undefined;
}

export class WorkerPool {
  readonly #options: WorkerPoolOptions;
  readonly #logger: Logger;
  readonly #slots: Slot[] = [];
  /** Old workers draining after a roll; candidates being started by a roll. */
  readonly #others = new Set<WorkerProcess>();
  #generation: WorkerGeneration;
  #nextId = 1;
  #stopping = false;
  #startup: { resolve: () => void; reject: (err: Error) => void } | undefined;
  readonly #messageHandlers = new Map<string, (message: Record<string, unknown>, worker: number) => void>();

  constructor(options: WorkerPoolOptions, generation: WorkerGeneration) {
    this.#options = options;
    this.#logger = options.logger;
    this.#generation = generation;
    for (let i = 0; i < options.count; i++) {
      this.#slots.push({ index: i, current: undefined, restarts: 0, backoffMs: FIRST_BACKOFF_MS, failuresInRow: 0, timer: undefined });
    }
  }

  get size(): number {
    return this.#slots.length;
  }

  /** The sockets workers are started with now, by listener name (the controller's fd numbers). */
  listenerFds(): ReadonlyMap<string, number> {
    return this.#generation.fds;
  }

  get document(): Readonly<Record<string, unknown>> {
    return this.#generation.document;
  }

  /** The config document workers started from now on get (after an apply that changed no listener). */
  setDocument(document: Readonly<Record<string, unknown>>): void {
    this.#generation = { document, fds: this.#generation.fds };
  }

  /** The document and sockets workers are started with (before `start`, or by the controller's own rolls). */
  setGeneration(generation: WorkerGeneration): void {
    this.#generation = generation;
  }

  /**
   * Replaces one slot's worker with a fresh one on the current generation; the old one drains
   * (a worker that could not apply an update).
   */
  replace(index: number): void {
    const slot = this.#slots[index];
    if (!slot || this.#stopping) return;
    const old = slot.current;
    if (slot.timer) clearTimeout(slot.timer);
    this.#spawnInto(slot);
    if (old) this.#retire(old);
  }

  /** True when every slot has a worker that answered `ready`. */
  get allReady(): boolean {
    return this.#slots.every((s) => s.current?.state === 'running');
  }

  workers(): WorkerInfo[] {
    const out: WorkerInfo[] = [];
    for (const s of this.#slots) {
      const w = s.current;
      const state: WorkerState = w ? w.state : this.#stopping ? 'stopped' : 'restarting';
      out.push({ index: s.index, pid: w?.pid, state, restarts: s.restarts });
    }
    for (const w of this.#others) if (w.state === 'draining') out.push({ index: w.index, pid: w.pid, state: 'draining', restarts: this.#slots[w.index]?.restarts ?? 0 });
    return out;
  }

  /** Pids of every worker process alive now (current, candidates and draining ones). */
  pids(): number[] {
    const all = [...this.#slots.map((s) => s.current), ...this.#others];
    return all.filter((w): w is WorkerProcess => w !== undefined && w.alive && w.pid !== undefined).map((w) => w.pid as number);
  }

  /** Unsolicited worker messages of `type` (no `id`, or no request waiting for it) go to `handler`. */
  onWorkerMessage(type: string, handler: (message: Record<string, unknown>, worker: number) => void): void {
    this.#messageHandlers.set(type, handler);
  }

  /**
   * Forks every slot's worker and resolves when all are ready. Rejects with the worker's own error
   * when one slot fails START_FAILURES times in a row before it ever was ready (then every worker
   * is killed).
   */
  start(): Promise<void> {
    const done = new Promise<void>((resolve, reject) => (this.#startup = { resolve, reject }));
    for (const s of this.#slots) this.#spawnInto(s);
    return done;
  }

  /** Sends `message` (an `id` is added) to every live worker; resolves with each answer, tagged with its slot. */
  async request<R extends { readonly type: string; readonly id: number } = ReplyEnvelope>(message: { readonly type: string; readonly [key: string]: unknown }, timeoutMs = this.#options.requestTimeoutMs ?? 30_000): Promise<(R & { readonly worker: number })[]> {
    const targets = this.#slots.map((s) => s.current).filter((w): w is WorkerProcess => w !== undefined && w.alive && w.state !== 'draining');
    const replies = await Promise.all(targets.map((w) => this.#ask(w, message, timeoutMs)));
    return replies.filter((r): r is R & { worker: number } => r !== undefined);
  }

  /** Fire-and-forget to every live worker (draining ones too, e.g. reopen-logs). */
  broadcast(message: ControllerMessage): void {
    for (const s of this.#slots) s.current?.send(message);
    for (const w of this.#others) w.send(message);
  }

  /**
   * Replaces every worker, one slot at a time, with one started on `generation`. Rejects (nothing
   * changed, the new worker killed) when the first new worker cannot start. Later failures leave
   * that slot restarting on the new generation.
   */
  async roll(generation: WorkerGeneration): Promise<void> {
    for (const slot of this.#slots) {
      if (this.#stopping) return;
      const fresh = this.#fork(slot.index, generation);
      this.#others.add(fresh);
      let ok = true;
      try {
        await fresh.ready;
      } catch (err) {
        ok = false;
        if (fresh.alive) fresh.child.kill('SIGKILL');
        this.#others.delete(fresh);
        if (slot.index === 0) throw err;
        this.#logger.error({ worker: slot.index, err: (err as Error).message }, 'a replacement worker failed to start; the slot restarts');
      }
      this.#others.delete(fresh);
      if (slot.index === 0) this.#generation = generation; // committed: every worker started from now on uses it
      const old = slot.current;
      if (slot.timer) clearTimeout(slot.timer);
      slot.timer = undefined;
      slot.current = ok ? fresh : undefined;
      if (old) this.#retire(old);
      if (!ok) this.#scheduleRestart(slot, undefined);
    }
  }

  /**
   * Stops every worker: `stop {graceful}`, then waits up to `timeoutMs` for them to exit and
   * SIGKILLs the rest.
   */
  async stop(graceful: boolean, timeoutMs: number): Promise<void> {
    this.#stopping = true;
    for (const s of this.#slots) {
      if (s.timer) clearTimeout(s.timer);
      s.timer = undefined;
    }
    const all = [...this.#slots.map((s) => s.current), ...this.#others].filter((w): w is WorkerProcess => w !== undefined && w.alive);
    for (const w of all) {
      w.state = 'draining';
      if (!w.send({ type: 'stop', graceful })) w.child.kill('SIGTERM');
    }
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([Promise.all(all.map((w) => w.exited)), deadline]);
    clearTimeout(timer);
    const left = all.filter((w) => w.alive);
    for (const w of left) {
      this.#logger.warn({ worker: w.index, workerPid: w.pid }, 'worker did not stop in time; killed');
      w.child.kill('SIGKILL');
    }
    await Promise.all(left.map((w) => w.exited));
  }

  /** Test and emergency use: SIGKILL every worker now. */
  killAll(): void {
    this.#stopping = true;
    for (const s of this.#slots) if (s.timer) clearTimeout(s.timer);
    for (const w of [...this.#slots.map((s) => s.current), ...this.#others]) if (w?.alive) w.child.kill('SIGKILL');
  }

  #ask(w: WorkerProcess, message: { readonly type: string; readonly [key: string]: unknown }, timeoutMs: number): Promise<Reply | undefined> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        w.pending.delete(id);
        this.#logger.warn({ worker: w.index, workerPid: w.pid, request: message.type }, 'worker did not answer in time; left out');
        resolve(undefined);
      }, timeoutMs);
      w.pending.set(id, (reply) => {
        clearTimeout(timer);
        resolve(reply === undefined ? undefined : { ...reply, worker: w.index });
      });
      if (!w.send({ ...message, id })) {
        w.pending.delete(id);
        clearTimeout(timer);
        resolve(undefined);
      }
    });
  }

  #fork(index: number, generation: WorkerGeneration): WorkerProcess {
    const names = [...generation.fds.keys()];
    const fds = names.map((n) => generation.fds.get(n) as number);
    const child = fork(this.#options.mainJs, [WORKER_COMMAND], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc', ...fds],
      serialization: 'json',
    });
    const w = new WorkerProcess(child, index);
    const listenerFds: Record<string, number> = {};
    names.forEach((n, i) => (listenerFds[n] = FIRST_LISTENER_FD + i));
    const start: StartMessage = {
      type: 'start',
      document: generation.document,
      baseDir: this.#options.baseDir,
      configPath: this.#options.configPath,
      strict: this.#options.strict,
      listenerFds,
      worker: index,
    };
    child.on('message', (m: unknown) => this.#onMessage(w, m));
    child.on('error', (err) => this.#logger.warn({ worker: index, workerPid: w.pid, err }, 'worker process error'));
    child.on('exit', (code, signal) => this.#onExit(w, code, signal));
    const readyTimer = setTimeout(() => {
      if (w.state !== 'starting' || !w.alive) return;
      w.lastError = `worker ${index} was not ready within ${this.#options.readyTimeoutMs ?? 30_000} ms`;
      w.child.kill('SIGKILL');
    }, this.#options.readyTimeoutMs ?? 30_000);
    readyTimer.unref();
    void w.ready.then(() => clearTimeout(readyTimer), () => clearTimeout(readyTimer));
    w.send(start);
    this.#logger.info({ worker: index, workerPid: w.pid }, 'worker forked');
    return w;
  }

  #spawnInto(slot: Slot): void {
    slot.timer = undefined;
    if (this.#stopping) return;
    slot.current = this.#fork(slot.index, this.#generation);
  }

  #onMessage(w: WorkerProcess, m: unknown): void {
    if (!isMessage(m)) return;
    if (typeof m.id === 'number') {
      const settle = w.pending.get(m.id);
      if (settle) {
        w.pending.delete(m.id);
        settle(m as ReplyEnvelope);
        return;
      }
    }
    switch (m.type) {
      case 'ready': {
        if (w.state !== 'starting') return;
        w.markReady();
        const slot = this.#slots[w.index];
        if (slot && slot.current === w) slot.failuresInRow = 0;
        this.#logger.info({ worker: w.index, workerPid: w.pid }, 'worker ready');
        if (this.#startup && this.allReady) {
          this.#startup.resolve();
          this.#startup = undefined;
        }
        return;
      }
      case 'failed':
        w.lastError = typeof m['error'] === 'string' ? m['error'] : 'worker failed to start';
        this.#logger.error({ worker: w.index, workerPid: w.pid, error: w.lastError }, 'worker failed to start');
        w.failStart(w.lastError);
        return;
      default:
        this.#messageHandlers.get(m.type)?.(m, w.index);
    }
  }

  #onExit(w: WorkerProcess, code: number | null, signal: NodeJS.Signals | null): void {
    w.markExited(code, signal);
    if (this.#others.delete(w)) {
      if (w.state === 'draining') this.#logger.info({ worker: w.index, workerPid: w.pid, code, signal }, 'old worker drained and exited');
      return;
    }
    const slot = this.#slots[w.index];
    if (!slot || slot.current !== w) return;
    slot.current = undefined;
    if (this.#stopping) {
      this.#logger.info({ worker: w.index, workerPid: w.pid, code, signal }, 'worker exited');
      return;
    }
    if (w.readyAt === undefined) {
      slot.failuresInRow++;
      if (this.#startup && slot.failuresInRow >= START_FAILURES) {
        const err = new Error(w.lastError ?? `worker ${w.index} exited (${signal ?? `code ${code}`}) before it was ready`);
        this.#logger.error({ worker: w.index, failures: slot.failuresInRow }, 'worker keeps failing at start; giving up');
        const startup = this.#startup;
        this.#startup = undefined;
        this.killAll();
        startup.reject(err);
        return;
      }
    }
    this.#logger.error({ worker: w.index, workerPid: w.pid, code, signal, error: w.lastError }, 'worker exited unexpectedly; replacing it');
    this.#scheduleRestart(slot, w);
  }

  #scheduleRestart(slot: Slot, dead: WorkerProcess | undefined): void {
    if (this.#stopping || slot.timer) return;
    if (dead?.readyAt !== undefined && Date.now() - dead.readyAt >= HEALTHY_MS) slot.backoffMs = FIRST_BACKOFF_MS;
    const delay = slot.backoffMs;
    slot.backoffMs = Math.min(delay * 2, MAX_BACKOFF_MS);
    slot.timer = setTimeout(() => {
      slot.restarts++;
      this.#spawnInto(slot);
    }, delay);
  }

  #retire(w: WorkerProcess): void {
    if (!w.alive) return;
    w.state = 'draining';
    this.#others.add(w);
    if (!w.send({ type: 'stop', graceful: true })) w.child.kill('SIGTERM');
  }
}
