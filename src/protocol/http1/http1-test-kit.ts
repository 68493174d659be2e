/**
 * Protocol layer, HTTP/1 codec: test support only (imported by the *.test.ts files beside it). Feeds a
 * parser any chunking of a byte stream and records its events in a form independent of split points
 * (adjacent body pieces are merged), plus a seeded random for reproducible chunkings.
 */
import { Http1Parser, type Http1ParserMode } from './http1-parser.js';
import { ParseStatus, type Http1Callbacks, type Http1Head } from './http1-types.js';
import type { Http1Limits } from './http1-limits.js';

export type Http1Event =
  | { ev: 'begin' }
  | { ev: 'headers'; head: Http1Head }
  | { ev: 'body'; data: string }
  | { ev: 'trailers'; trailers: string[] }
  | { ev: 'complete' }
  | { ev: 'error'; code: string; status: number }
  | { ev: 'upgraded'; rest: string };

export interface RunOptions {
  mode: Http1ParserMode;
  limits?: Http1Limits;
  /** Response mode: the requests answered, in order (method, upgradeRequested). */
  requests?: Array<[string, boolean?]>;
  /** Call finish() at the end (peer closed). */
  eof?: boolean;
  /** Pause in every onHeaders (exercises pause/resume). */
  pauseOnHeaders?: boolean;
}

/** Feeds `chunks` and returns the recorded events. */
export function runParser(chunks: readonly Buffer[], o: RunOptions): Http1Event[] {
  const events: Http1Event[] = [];
  let parser: Http1Parser;
  const cb: Http1Callbacks = {
    onMessageBegin: () => { events.push({ ev: 'begin' }); },
    onHeaders: (head) => { events.push({ ev: 'headers', head }); if (o.pauseOnHeaders === true) parser.pause(); },
    onBody: (b) => {
      const last = events[events.length - 1];
      if (last?.ev === 'body') last.data += b.toString('latin1');
      else events.push({ ev: 'body', data: b.toString('latin1') });
    },
    onTrailers: (t) => { events.push({ ev: 'trailers', trailers: t }); },
    onMessageComplete: () => { events.push({ ev: 'complete' }); },
  };
  parser = new Http1Parser(o.mode, cb, o.limits);
  for (const [m, u] of o.requests ?? []) parser.expectResponse(m, u ?? false);
  let rest = '';
  let upgraded = false;
  outer: for (const c of chunks) {
    let chunk = c;
    if (upgraded) { rest += chunk.toString('latin1'); continue; }
    for (;;) {
      const st = parser.execute(chunk);
      if (st === ParseStatus.Ok) break;
      if (st === ParseStatus.Paused) { chunk = chunk.subarray(parser.consumed); parser.resume(); continue; }
      if (st === ParseStatus.Upgraded) { upgraded = true; rest += chunk.subarray(parser.consumed).toString('latin1'); break; }
      events.push({ ev: 'error', code: parser.error!.code, status: parser.error!.status });
      break outer;
    }
  }
  if (upgraded) events.push({ ev: 'upgraded', rest });
  else if (o.eof === true && parser.error === null) {
    if (parser.finish() === ParseStatus.Error) events.push({ ev: 'error', code: parser.error!.code, status: parser.error!.status });
  }
  return events;
}

export { seededRandom } from '../../base/seeded-random.js';

/** Splits buf at random points (1..maxPiece bytes each). */
export function randomChunks(buf: Buffer, rnd: () => number, maxPiece = 16): Buffer[] {
  const out: Buffer[] = [];
  let p = 0;
  while (p < buf.length) { const n = 1 + Math.floor(rnd() * maxPiece); out.push(buf.subarray(p, p + n)); p += n; }
  return out;
}

/** Every byte its own chunk. */
export function byteChunks(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i++) out.push(buf.subarray(i, i + 1));
  return out;
}
