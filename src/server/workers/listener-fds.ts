/**
 * Server layer (workers): the controller's listening sockets. The controller binds every
 * `bind_port` listener itself (with the native addon, so it gets plain fds it can hand to forked
 * workers) and never accepts on them; every worker accepts on the same socket, and the kernel
 * spreads the connections. Port 0 becomes one real port that all workers share.
 *
 *   bindMissing(configs)  bind what is new or moved, all or nothing (a failed bind closes what this
 *                         call bound and rethrows; the running set is unchanged)
 *   retain(configs)       close the sockets no listener of `configs` uses any more
 */
import { removeSocketFile, socketFileAnswers } from '../../base/unix-socket-file.js';
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import type { ListenerConfig } from '../../api/config.js';
import type { Logger } from '../../api/observability.js';
import { ErrorCode, SkiffError } from '../../base/errors.js';
import type { NativeFd } from '../../base/native-fd.js';

/** The kernel's cap on most systems; Node's own default backlog is 511 too. */
const BACKLOG = 511;

export interface BoundListener {
  readonly name: string;
  /** What the socket was bound for: config address text + bind_port (a change = a new socket). */
  readonly identity: string;
  readonly fd: number;
  /** The real address (port 0 resolved). */
  readonly text: string;
  /** A unix socket file this controller created (removed when the socket closes). */
  readonly unixPath: string | undefined;
}

const identityOf = (c: ListenerConfig): string => `${c.address.text}|${c.bindPort}`;

export class ListenerFds {
  readonly #native: NativeFd;
  readonly #logger: Logger;
  readonly #bound = new Map<string, BoundListener>();

  constructor(native: NativeFd, logger: Logger) {
    this.#native = native;
    this.#logger = logger;
  }

  /** Listener name → fd, in a stable order (the order workers get them as fds 4, 5, …). */
  fds(): ReadonlyMap<string, number> {
    return new Map([...this.#bound.values()].map((b) => [b.name, b.fd]));
  }

  get(name: string): BoundListener | undefined {
    return this.#bound.get(name);
  }

  /** True when `configs` need no socket this set lacks and keep none it has (same names, same addresses). */
  sameAs(configs: readonly ListenerConfig[]): boolean {
    const wanted = configs.filter((c) => c.bindPort);
    if (wanted.length !== this.#bound.size) return false;
    return wanted.every((c) => this.#bound.get(c.name)?.identity === identityOf(c));
  }

  /**
   * Binds every bind_port listener of `configs` that has no socket for its address yet. Returns the
   * new sockets (not yet in the set: `commit` adds them, `abort` closes them).
   */
  async bindMissing(configs: readonly ListenerConfig[]): Promise<BoundListener[]> {
    const fresh: BoundListener[] = [];
    try {
      for (const c of configs) {
        if (!c.bindPort || this.#bound.get(c.name)?.identity === identityOf(c)) continue;
        fresh.push(await this.#bind(c));
      }
    } catch (err) {
      this.abort(fresh);
      throw err;
    }
    return fresh;
  }

  /** Makes `configs` the set: new sockets from `fresh` replace old ones by name; unused ones close. */
  commit(configs: readonly ListenerConfig[], fresh: readonly BoundListener[]): void {
    const next = new Map<string, BoundListener>();
    const freshByName = new Map(fresh.map((b) => [b.name, b]));
    for (const c of configs) {
      if (!c.bindPort) continue;
      const b = freshByName.get(c.name) ?? this.#bound.get(c.name);
      if (b) next.set(c.name, b);
    }
    const keep = new Set([...next.values()].map((b) => b.fd));
    for (const b of this.#bound.values()) if (!keep.has(b.fd)) this.#close(b);
    this.#bound.clear();
    for (const [name, b] of next) this.#bound.set(name, b);
  }

  /**
   * Hot upgrade, new side: serve the sockets inherited from the old process (listener name → fd)
   * instead of binding those listeners. A unix path stays the old binder's (never unlinked here).
   */
  adoptInherited(configs: readonly ListenerConfig[], fds: ReadonlyMap<string, number>): void {
    for (const c of configs) {
      const fd = fds.get(c.name);
      if (!c.bindPort || fd === undefined) continue;
      const a = c.address;
      const text = a.kind === 'unix' ? a.text : `${a.host.includes(':') ? `[${a.host}]` : a.host}:${this.#native.localPort(fd)}`;
      this.#bound.set(c.name, { name: c.name, identity: identityOf(c), fd, text, unixPath: undefined });
      this.#logger.info({ listener: c.name, address: text, fd, inherited: true }, 'listener bound');
    }
  }

  /** Hot upgrade, old side: the new process serves these sockets now, so their unix paths are not ours to remove. */
  disownPaths(): void {
    for (const [name, b] of this.#bound) this.#bound.set(name, { ...b, unixPath: undefined });
  }

  abort(fresh: readonly BoundListener[]): void {
    for (const b of fresh) this.#close(b);
  }

  closeAll(): void {
    for (const b of this.#bound.values()) this.#close(b);
    this.#bound.clear();
  }

  async #bind(c: ListenerConfig): Promise<BoundListener> {
    const address = c.address;
    try {
      if (address.kind === 'unix') {
        if (await socketFileAnswers(address.path)) throw Object.assign(new Error('in use'), { code: 'EADDRINUSE' });
        removeSocketFile(address.path);
        const fd = this.#native.listenUnix(address.path, BACKLOG);
        this.#logger.info({ listener: c.name, address: address.text, fd, shared: true }, 'listener bound');
        return { name: c.name, identity: identityOf(c), fd, text: address.text, unixPath: address.path };
      }
      const host = net.isIP(address.host) !== 0 ? address.host : (await lookup(address.host)).address;
      const fd = this.#native.listenTcp(host, address.port, BACKLOG);
      const port = this.#native.localPort(fd);
      const text = address.host.includes(':') ? `[${address.host}]:${port}` : `${address.host}:${port}`;
      this.#logger.info({ listener: c.name, address: text, fd, shared: true }, 'listener bound');
      return { name: c.name, identity: identityOf(c), fd, text, unixPath: undefined };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') {
        throw new SkiffError(ErrorCode.AddressInUse, `listener "${c.name}": address ${address.text} is already in use`, { cause: err });
      }
      throw new SkiffError(ErrorCode.Bind, `listener "${c.name}": cannot bind ${address.text}: ${code ?? (err as Error).message}`, { cause: err });
    }
  }

  #close(b: BoundListener): void {
    try {
      this.#native.close(b.fd);
    } catch (err) {
      this.#logger.warn({ err, listener: b.name, fd: b.fd }, 'closing a listening socket failed');
    }
    if (b.unixPath !== undefined) removeSocketFile(b.unixPath);
  }
}
