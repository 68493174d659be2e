/**
 * Server layer, hot upgrade: the control conversation between an old and a new Skiff — JSON lines
 * over a unix stream socket (Node `net`). The old process listens on its reconfig socket for its
 * whole life; a new process serving the same config file finds it there.
 *
 *   new → old  hello   {pid, version, configPath, takeover, xfer}
 *   old → new  accept  {pid, version, counters, listeners}   | refuse {reason}
 *              (the listening sockets travel on the xfer channel meanwhile)
 *   new → old  ready   {targets}          — the new process serves; old stops accepting, hands over
 *   old → new  progress / done {migrated, drained, closed, ms, counters}
 *   either side closing early = the upgrade failed; the old process keeps serving.
 */
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Socket } from 'node:net';

/** Bounds a control line (a config path, counters of a big config): 64 MiB is far beyond need. */
const MAX_LINE_BYTES = 64 << 20;

/** The config file's identity: its real path (two Skiffs share a folder, never a config file). */
export function configIdentity(configPath: string): string {
  try {
    return realpathSync(configPath);
  } catch {
    return resolve(configPath);
  }
}

/** `<uds_dir>/skiff-<hash of the config path>.reconfig.sock`. */
export function reconfigSocketPath(udsDir: string, configPath: string): string {
  const h = createHash('sha256').update(configIdentity(configPath)).digest('hex').slice(0, 12);
  return join(udsDir, `skiff-${h}.reconfig.sock`);
}

export type ControlMessage = { readonly t: string } & Record<string, unknown>;

/** JSON-lines framing on a socket; `onMessage` gets each message, `onEnd` once at close or error. */
export class ControlChannel {
  readonly socket: Socket;
  #buf = '';
  #ended = false;
  readonly #onMessage: (m: ControlMessage) => void;
  readonly #onEnd: (reason: string) => void;

  constructor(socket: Socket, onMessage: (m: ControlMessage) => void, onEnd: (reason: string) => void) {
    this.socket = socket;
    this.#onMessage = onMessage;
    this.#onEnd = onEnd;
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => this.#onData(d));
    socket.on('error', (err: NodeJS.ErrnoException) => this.#end(err.code ?? err.message));
    socket.on('close', () => this.#end('closed'));
  }

  send(m: ControlMessage): void {
    if (this.#ended || this.socket.destroyed) return;
    this.socket.write(`${JSON.stringify(m)}\n`);
  }

  close(): void {
    this.#ended = true;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  #onData(d: string): void {
    this.#buf += d;
    if (this.#buf.length > MAX_LINE_BYTES) { this.socket.destroy(); this.#end('control line too long'); return; }
    let i: number;
    while ((i = this.#buf.indexOf('\n')) >= 0) {
      const line = this.#buf.slice(0, i);
      this.#buf = this.#buf.slice(i + 1);
      if (line.trim() === '') continue;
      let m: unknown;
      try { m = JSON.parse(line); } catch { this.socket.destroy(); this.#end('malformed control message'); return; }
      if (typeof m !== 'object' || m === null || typeof (m as { t?: unknown }).t !== 'string') { this.socket.destroy(); this.#end('malformed control message'); return; }
      if (this.#ended) return;
      this.#onMessage(m as ControlMessage);
    }
  }

  #end(reason: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#onEnd(reason);
  }
}

/** What the admin API and the logs show about an upgrade (GET /api/v1/upgrade). */
export interface UpgradeStatus {
  state: 'none' | 'taking_over' | 'handing_over' | 'complete' | 'failed';
  /** The other process's pid (from: the old one, seen by the new; to: the new one, seen by the old). */
  from?: number;
  to?: number;
  listenersInherited: number;
  connectionsMigrated: number;
  connectionsDrained: number;
  connectionsClosed: number;
  startedAt?: string;
  ms?: number;
  reason?: string;
}

export function emptyStatus(): UpgradeStatus {
  return { state: 'none', listenersInherited: 0, connectionsMigrated: 0, connectionsDrained: 0, connectionsClosed: 0 };
}
