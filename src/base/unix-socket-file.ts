/**
 * Base: unix socket files on disk — whether one is live (something accepts on it) and removing a
 * stale one (never a regular file). Used by listeners, worker sockets and the hot-upgrade sockets.
 */
import { lstatSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';

/** True when a socket file is at `path` and something accepts connections on it. */
export function socketFileAnswers(path: string): Promise<boolean> {
  try {
    if (!lstatSync(path).isSocket()) return Promise.resolve(false);
  } catch {
    return Promise.resolve(false);
  }
  return new Promise((resolve) => {
    const s = connect({ path });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => { s.destroy(); resolve(false); });
  });
}

/** Removes a socket file (a stale one, or ours at close); leaves anything else alone. */
export function removeSocketFile(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    /* absent */
  }
}
