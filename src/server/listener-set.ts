/**
 * Server layer: the set of running listeners and how a config diff is applied to it, in two
 * phases so a failed bind changes nothing:
 *
 *   prepare(diff)  bind every added listener and every listener whose address moved, and build
 *                  the deps of every updated one; on any error close what was just bound → reject
 *   commit(plan)   same address → ActiveListener.update (new connections get the new chain);
 *                  moved → the new listener replaces the old, which drains; removed → drain
 *                  (stops accepting at once, connections finish up to gracefulTimeoutMs)
 *   abort(plan)    close what prepare bound
 *
 * Listeners with `bind_port: false` (virtual, original-dst only) are never bound. Draining
 * listeners are kept until they finish, so a fast stop can still close their connections.
 */
import type { ListenerConfig } from '../api/config.js';
import type { Logger } from '../api/observability.js';
import type { ResourceDiff } from '../config/index.js';
import { ActiveListener, type ListenerDeps } from '../network/listener/active-listener.js';
import type { SocketConnection } from '../network/connection/socket-connection.js';
import { buildListenerDeps, type ListenerServices } from './filter-chain-builder.js';

export interface ListenerPlan {
  /** Freshly bound listeners (added, or moved to a new address), by name. */
  readonly bound: Map<string, ActiveListener>;
  /** Same-address updates with their prebuilt deps. */
  readonly updates: { readonly active: ActiveListener; readonly config: ListenerConfig; readonly deps: ListenerDeps }[];
  /** Listeners to drain (removed, or replaced by a moved one). */
  readonly retire: ActiveListener[];
}

const moved = (prev: ListenerConfig, next: ListenerConfig): boolean =>
  prev.address.text !== next.address.text || prev.bindPort !== next.bindPort;

export class ListenerSet {
  readonly #services: ListenerServices;
  readonly #logger: Logger;
  readonly #active = new Map<string, ActiveListener>();
  readonly #draining = new Set<{ listener: ActiveListener; done: Promise<void> }>();

  constructor(services: ListenerServices) {
    this.#services = services;
    this.#logger = services.logger;
  }

  get(name: string): ActiveListener | undefined {
    return this.#active.get(name);
  }

  active(): Iterable<ActiveListener> {
    return this.#active.values();
  }

  /** Every downstream connection, of running and of draining listeners, with its listener's name. */
  downstreamConnections(): { listener: string; conn: SocketConnection }[] {
    const out: { listener: string; conn: SocketConnection }[] = [];
    const add = (l: ActiveListener): void => { for (const conn of l.socketConnections()) out.push({ listener: l.name, conn }); };
    for (const l of this.#active.values()) add(l);
    for (const d of this.#draining) add(d.listener);
    return out;
  }

  /** Hot upgrade: stop accepting everywhere; the sockets stay open in the new process (unix paths too). */
  async releaseAll(): Promise<void> {
    await Promise.all([...this.#active.values()].map((l) => l.stopAccepting(true)));
  }

  get drainingCount(): number {
    return this.#draining.size;
  }

  /**
   * Start: bind every listener, all or nothing (on error the bound ones are closed, the error rethrown).
   * `fds`: listener name → an already-listening socket to serve instead of binding (workers, hot upgrade).
   */
  async bindAll(configs: readonly ListenerConfig[], fds?: ReadonlyMap<string, number>): Promise<void> {
    const bound = await this.#bindEach(configs.filter((c) => c.bindPort), fds);
    for (const [name, l] of bound) this.#active.set(name, l);
    for (const c of configs) if (!c.bindPort) this.#logger.info({ listener: c.name }, 'virtual listener (bind_port false): not bound');
  }

  async prepare(diff: ResourceDiff<ListenerConfig>): Promise<ListenerPlan> {
    const toBind: ListenerConfig[] = [];
    const updates: ListenerPlan['updates'] = [];
    const retire: ActiveListener[] = [];
    for (const c of diff.added) if (c.bindPort) toBind.push(c);
    for (const { prev, next } of diff.updated) {
      const active = this.#active.get(prev.name);
      if (!moved(prev, next) && active) {
        updates.push({ active, config: next, deps: buildListenerDeps(next, this.#services) });
        continue;
      }
      if (next.bindPort) toBind.push(next);
      if (active) retire.push(active);
    }
    for (const c of diff.removed) {
      const active = this.#active.get(c.name);
      if (active) retire.push(active);
    }
    const bound = await this.#bindEach(toBind);
    return { bound, updates, retire };
  }

  commit(plan: ListenerPlan, gracefulTimeoutMs: number): void {
    for (const u of plan.updates) u.active.update(u.config, u.deps);
    for (const old of plan.retire) {
      if (this.#active.get(old.name) === old) this.#active.delete(old.name);
      this.#drain(old, gracefulTimeoutMs);
    }
    for (const [name, l] of plan.bound) this.#active.set(name, l);
  }

  abort(plan: ListenerPlan): void {
    for (const l of plan.bound.values()) l.closeAll();
  }

  /** Graceful stop: every listener (and those already draining) stops accepting; waits up to the timeout. */
  async drainAll(timeoutMs: number): Promise<void> {
    const all = [...this.#active.values()];
    this.#active.clear();
    await Promise.all([...all.map((l) => l.drain(timeoutMs)), ...[...this.#draining].map((d) => d.done)]);
  }

  /** Fast stop: close everything now. */
  closeAll(): void {
    for (const l of this.#active.values()) l.closeAll();
    this.#active.clear();
    for (const d of this.#draining) d.listener.closeAll();
    this.#draining.clear();
  }

  #drain(listener: ActiveListener, timeoutMs: number): void {
    const entry = { listener, done: Promise.resolve() };
    entry.done = listener
      .drain(timeoutMs)
      .catch((err: unknown) => this.#logger.error({ err, listener: listener.name }, 'listener drain failed'))
      .finally(() => {
        this.#draining.delete(entry);
        this.#logger.info({ listener: listener.name }, 'listener drained');
      });
    this.#draining.add(entry);
  }

  /** Binds each config in a new ActiveListener; all or nothing. */
  async #bindEach(configs: readonly ListenerConfig[], fds?: ReadonlyMap<string, number>): Promise<Map<string, ActiveListener>> {
    const bound = new Map<string, ActiveListener>();
    try {
      for (const c of configs) {
        const l = new ActiveListener(c, buildListenerDeps(c, this.#services));
        const fd = fds?.get(c.name);
        await l.listen(fd);
        bound.set(c.name, l);
        this.#logger.info({ listener: c.name, address: l.boundAddress.text, ...(fd === undefined ? {} : { inherited: true }) }, 'listener bound');
      }
    } catch (err) {
      for (const l of bound.values()) l.closeAll();
      throw err;
    }
    return bound;
  }
}
