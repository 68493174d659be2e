import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_KEEPALIVE, XKeepAlive, type KeepAliveClock } from './x-keepalive.js';

/** A fake clock: timers fire only when `advance` passes them. */
class FakeClock implements KeepAliveClock {
  t = 0;
  #timers = new Map<number, { at: number; fn: () => void }>();
  #next = 1;
  now(): number { return this.t; }
  setTimer(fn: () => void, ms: number): unknown { const id = this.#next++; this.#timers.set(id, { at: this.t + ms, fn }); return id; }
  clearTimer(h: unknown): void { this.#timers.delete(h as number); }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let firstId = -1;
      let first: { at: number; fn: () => void } | undefined;
      for (const [id, tm] of this.#timers) if (tm.at <= end && (first === undefined || tm.at < first.at)) { first = tm; firstId = id; }
      if (first === undefined) break;
      this.#timers.delete(firstId);
      this.t = first.at;
      first.fn();
    }
    this.t = end;
  }
}

/** The heartbeat schedule alone (idle-free off; it has its own tests). */
const NO_IDLE_FREE = { ...DEFAULT_KEEPALIVE, idleFreeMs: 0 };

function rig(opts = NO_IDLE_FREE, answer = true) {
  const clock = new FakeClock();
  const sentAt: number[] = [];
  let closed = '';
  let ka: XKeepAlive;
  const target = {
    sendHeartbeat(): boolean {
      sentAt.push(clock.t);
      if (answer) clock.setTimer(() => ka.onHeartbeatResponse(), 10); // answered 10 ms later
      return true;
    },
    close(reason: string): void { closed = reason; },
  };
  ka = new XKeepAlive(target, opts, clock);
  return { clock, sentAt, ka, get closed() { return closed; } };
}

test('idle connection: first heartbeat after 15 s; with backoff the period grows by 15 s per success up to 90 s', () => {
  const r = rig();
  r.clock.advance(14_999);
  assert.deepEqual(r.sentAt, []);
  r.clock.advance(1);
  assert.deepEqual(r.sentAt, [15_000]);
  r.clock.advance(600_000);
  const gaps = r.sentAt.slice(1).map((t, i) => t - r.sentAt[i]! - 10); // minus the 10 ms answer time
  assert.deepEqual(gaps.slice(0, 6), [30_000, 45_000, 60_000, 75_000, 90_000, 90_000]);
  assert.equal(r.ka.periodMs, 90_000);
});

test('backoff off: MOSN\'s fixed 15 s period', () => {
  const r = rig({ ...NO_IDLE_FREE, backoff: false });
  r.clock.advance(100_000);
  const gaps = r.sentAt.slice(1).map((t, i) => t - r.sentAt[i]! - 10);
  assert.ok(gaps.length >= 5);
  for (const g of gaps) assert.equal(g, 15_000);
});

test('business traffic in a period replaces that period\'s heartbeat', () => {
  const r = rig();
  for (let t = 0; t < 60_000; t += 5_000) { r.clock.advance(5_000); r.ka.onActivity(); }
  assert.deepEqual(r.sentAt, [], 'no heartbeat while requests flow');
  r.clock.advance(15_000);
  assert.equal(r.sentAt.length, 1, 'the first quiet period sends one');
});

test('unanswered heartbeats: each fails after 1 s and resets the period to 15 s; 6 in a row close the connection', () => {
  const r = rig(NO_IDLE_FREE, false);
  r.clock.advance(15_000 + 5 * 16_000 + 999);
  assert.equal(r.sentAt.length, 6);
  assert.equal(r.closed, '', 'the 6th has not timed out yet');
  r.clock.advance(1);
  assert.equal(r.closed, 'heartbeat_failed');
  assert.equal(r.ka.failed, 6);
  const gaps = r.sentAt.slice(1).map((t, i) => t - r.sentAt[i]!);
  for (const g of gaps) assert.equal(g, 16_000, 'timeout 1 s + base period 15 s');
});

test('a failure after successes resets the period to the base', () => {
  let answer = true;
  const clock = new FakeClock();
  const sentAt: number[] = [];
  let ka: XKeepAlive;
  ka = new XKeepAlive({
    sendHeartbeat(): boolean { sentAt.push(clock.t); if (answer) clock.setTimer(() => ka.onHeartbeatResponse(), 10); return true; },
    close(): void {},
  }, NO_IDLE_FREE, clock);
  clock.advance(15_000 + 10 + 30_000 + 10); // two successes: period now 45 s
  assert.equal(ka.periodMs, 45_000);
  answer = false;
  clock.advance(45_000 + 1_000);
  assert.equal(ka.failed, 1);
  assert.equal(ka.periodMs, 15_000);
});

test('idle-free: a connection that carried only heartbeats for 90 s (the default) is closed; business traffic postpones it', () => {
  const r = rig(DEFAULT_KEEPALIVE);
  r.clock.advance(89_999);
  assert.deepEqual(r.sentAt, [15_000, 45_010], 'heartbeats at 15 s and after the backed-off 30 s period');
  assert.equal(r.closed, '');
  r.clock.advance(1);
  assert.equal(r.closed, 'idle_free', 'closed at 90 s without business traffic, not probed again');
  assert.equal(r.sentAt.length, 2);

  const busy = rig(DEFAULT_KEEPALIVE);
  busy.clock.advance(80_000);
  busy.ka.onActivity(); // a request at 80 s
  busy.clock.advance(89_999);
  assert.equal(busy.closed, '', 'still open 89.999 s after the last request');
  busy.clock.advance(1);
  assert.equal(busy.closed, 'idle_free');

  const fixed = rig({ ...DEFAULT_KEEPALIVE, backoff: false, idleFreeMs: 40_000 });
  fixed.clock.advance(40_000);
  assert.deepEqual(fixed.sentAt, [15_000, 30_010], 'MOSN fixed period, then the cluster idle_timeout (40 s) closes it');
  assert.equal(fixed.closed, 'idle_free');
});
