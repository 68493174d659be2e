import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { FilterStatus } from '../../api/network.js';
import type { Address } from '../../api/config.js';
import type { Host } from '../../api/upstream.js';
import { StatsStore } from '../../observability/stats.js';
import { createBuiltinRegistries } from '../../registry/registries.js';
import { RecordingLogger } from '../../../test/fakes/logger.js';
import { clusterConfig, hostConfig, refusedAddress, startServer, waitFor, type TestServer } from '../../../test/fakes/net-fixtures.js';
import { ClusterManagerImpl } from '../cluster-manager.js';
import { Http1ConnectionPool, type Http1ConnectionPoolDeps, type PoolFailureReason, type PooledConnection } from './http1-connection-pool.js';

/** Closed after every test, also when it failed, so a failing test cannot keep the process alive. */
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const RESPONSE = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok';

/** A tiny HTTP/1 origin: answers every request head (no body) with RESPONSE; records each accepted socket. */
async function startOrigin(): Promise<TestServer & { conns: Socket[] }> {
  const conns: Socket[] = [];
  const srv = await startServer((s) => {
    conns.push(s);
    let buf = '';
    s.on('data', (c: Buffer) => {
      buf += c.toString('latin1');
      let i: number;
      while ((i = buf.indexOf('\r\n\r\n')) >= 0) {
        buf = buf.slice(i + 4);
        s.write(RESPONSE);
      }
    });
    s.on('end', () => s.end());
  });
  cleanups.push(() => srv.close());
  return Object.assign(srv, { conns });
}

function setup(address: Address) {
  const stats = new StatsStore();
  const logger = new RecordingLogger();
  const cm = new ClusterManagerImpl({ registries: createBuiltinRegistries(), stats, logger });
  cm.addOrUpdateCluster(clusterConfig('c1', [hostConfig(address)]));
  const host = cm.snapshot('c1')?.hostSet.hosts[0] as Host;
  assert.ok(host);
  const pool = (over: Partial<Http1ConnectionPoolDeps> = {}): Http1ConnectionPool => {
    const p = new Http1ConnectionPool(host, { clusterManager: cm, connectTimeoutMs: 1000, logger, ...over });
    cleanups.push(() => p.close());
    return p;
  };
  cleanups.push(() => cm.close());
  return { stats, logger, cm, host, pool };
}

type Outcome = { ok: true; handle: PooledConnection } | { ok: false; reason: PoolFailureReason; detail: string };

function acquire(pool: Http1ConnectionPool, newConnection = false): Promise<Outcome> & { cancel(): void } {
  let cancel = (): void => {};
  const p = new Promise<Outcome>((resolve) => {
    cancel = pool.acquire({
      onReady: (handle) => resolve({ ok: true, handle }),
      onFailure: (reason, detail) => resolve({ ok: false, reason, detail }),
    }, newConnection ? { newConnection: true } : undefined).cancel;
  });
  return Object.assign(p, { cancel: () => cancel() });
}

/** Awaits `p`, failing the test after `ms` instead of hanging on a request the pool lost. */
async function within<T>(p: Promise<T>, ms = 2000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`not settled within ${ms} ms`)), ms); });
  try {
    return await Promise.race([p, limit]);
  } finally {
    clearTimeout(timer);
  }
}

async function ready(pool: Http1ConnectionPool): Promise<PooledConnection> {
  const r = await within(acquire(pool));
  assert.ok(r.ok, r.ok ? '' : `acquire failed: ${r.reason} ${r.detail}`);
  return r.handle;
}

/** Sends one request and resolves with the whole response (the read filter is installed once per connection). */
function roundTrip(handle: PooledConnection): Promise<string> {
  type Sink = { onChunk: ((s: string) => void) | undefined };
  if (handle.attachment === undefined) {
    const sink: Sink = { onChunk: undefined };
    handle.attachment = sink;
    handle.connection.addReadFilter({ onData: (d) => { sink.onChunk?.(d.toString('latin1')); return FilterStatus.Stop; } });
  }
  const sink = handle.attachment as Sink;
  return new Promise((resolve) => {
    let got = '';
    sink.onChunk = (s) => {
      got += s;
      if (got.length >= RESPONSE.length) {
        sink.onChunk = undefined;
        resolve(got);
      }
    };
    handle.connection.write(Buffer.from('GET / HTTP/1.1\r\nhost: o\r\n\r\n'));
  });
}

async function exchange(pool: Http1ConnectionPool, release: { keepAliveTimeoutMs?: number } = {}) {
  const h = await ready(pool);
  assert.equal(await roundTrip(h), RESPONSE);
  const out = { handle: h, port: h.connection.localPort, reused: h.reused, served: h.requestsServed };
  pool.release(h, { reusable: true, ...release });
  return out;
}

test('a released connection is reused: second request on the same local port', async () => {
  const origin = await startOrigin();
  const { pool } = setup(origin.address);
  const p = pool();
  const a = await exchange(p);
  const b = await exchange(p);
  assert.equal(a.reused, false);
  assert.equal(b.reused, true);
  assert.equal(b.port, a.port);
  assert.equal(b.served, 2);
  assert.equal(origin.conns.length, 1);
  assert.deepEqual(p.counts, { connecting: 0, busy: 0, idle: 1, pending: 0 });
  p.close();
  await origin.close();
});

test('idle connections are handed out most recently used first (LIFO)', async () => {
  const origin = await startOrigin();
  const { pool } = setup(origin.address);
  const p = pool();
  const [a, b] = await Promise.all([ready(p), ready(p)]);
  assert.notEqual(a.connection.localPort, b.connection.localPort);
  p.release(a, { reusable: true });
  p.release(b, { reusable: true });
  const c = await ready(p);
  assert.equal(c.connection, b.connection);
  const d = await ready(p);
  assert.equal(d.connection, a.connection);
  p.close();
  await origin.close();
});

test('maxRequestsPerConnection closes the connection on the Nth release', async () => {
  const origin = await startOrigin();
  const { pool } = setup(origin.address);
  const p = pool({ maxRequestsPerConnection: 2 });
  const a = await exchange(p);
  const b = await exchange(p);
  assert.equal(b.port, a.port);
  await waitFor(() => b.handle.connection.closed, 2000, 'close after 2 requests');
  assert.equal(b.handle.connection.closeReason, 'max_request_per_conn');
  const c = await exchange(p);
  assert.equal(c.reused, false);
  assert.notEqual(c.port, a.port);
  assert.equal(origin.conns.length, 2);
  p.close();
  await origin.close();
});

test('the idle timeout closes a pooled connection; the next request opens a new one', async () => {
  const origin = await startOrigin();
  const { pool } = setup(origin.address);
  const p = pool({ idleTimeoutMs: 80 });
  const a = await exchange(p);
  await waitFor(() => a.handle.connection.closed, 2000, 'idle close');
  assert.equal(a.handle.connection.closeReason, 'idle_timeout');
  assert.equal(p.counts.idle, 0);
  const b = await exchange(p);
  assert.equal(b.reused, false);
  p.close();
  await origin.close();
});

test('Keep-Alive: timeout= from the upstream shortens the idle timeout (minus the safety margin)', async () => {
  const origin = await startOrigin();
  const { pool } = setup(origin.address);
  const p = pool({ idleTimeoutMs: 60_000, keepAliveSafetyMarginMs: 1000 });
  const t0 = Date.now();
  const a = await exchange(p, { keepAliveTimeoutMs: 1100 });
  await waitFor(() => a.handle.connection.closed, 3000, 'keep-alive close');
  assert.ok(Date.now() - t0 < 2500, 'closed long before the pool default');
  assert.equal(a.handle.connection.closeReason, 'idle_timeout');
  // A Keep-Alive timeout within the margin: not pooled at all.
  const b = await exchange(p, { keepAliveTimeoutMs: 1000 });
  await waitFor(() => b.handle.connection.closed, 2000, 'immediate close');
  assert.equal(p.counts.idle, 0);
  p.close();
  await origin.close();
});

for (const how of ['FIN', 'RST'] as const) {
  test(`an idle connection the upstream closes (${how}) is dropped at once, never handed out`, async () => {
    const origin = await startOrigin();
    const { pool } = setup(origin.address);
    const p = pool();
    const a = await exchange(p);
    assert.equal(p.counts.idle, 1);
    const s = origin.conns[0];
    assert.ok(s);
    if (how === 'FIN') s.end();
    else s.resetAndDestroy();
    await waitFor(() => p.counts.idle === 0, 2000, 'idle removed');
    assert.ok(a.handle.connection.closed);
    const b = await exchange(p);
    assert.equal(b.reused, false);
    assert.notEqual(b.port, a.port);
    p.close();
    await origin.close();
  });
}

test('unsolicited bytes on an idle connection close it (no response-queue poisoning)', async () => {
  const origin = await startOrigin();
  const { pool } = setup(origin.address);
  const p = pool();
  const a = await exchange(p);
  origin.conns[0]?.write(RESPONSE);
  await waitFor(() => a.handle.connection.closed, 2000, 'close on stray bytes');
  assert.equal(a.handle.connection.closeReason, 'unsolicited_data');
  assert.equal(p.counts.idle, 0);
  p.close();
  await origin.close();
});

test('maxConnections queues FIFO; a full queue overflows at once and counts request_pending_overflow', async () => {
  const origin = await startOrigin();
  const { pool, stats, host } = setup(origin.address);
  const p = pool({ maxConnections: 1, maxPendingRequests: 2 });
  const a = await ready(p);
  const order: string[] = [];
  const b = acquire(p).then((r) => { order.push('b'); return r; });
  const c = acquire(p).then((r) => { order.push('c'); return r; });
  const d = await acquire(p);
  assert.deepEqual(p.counts, { connecting: 0, busy: 1, idle: 0, pending: 2 });
  assert.ok(!d.ok && d.reason === 'overflow');
  assert.equal(stats.scope('upstream', { cluster: 'c1', host: host.addressText }).counter('request_pending_overflow').value, 1);
  assert.equal(stats.scope('upstream', { cluster: 'c1' }).counter('request_pending_overflow').value, 1);
  p.release(a, { reusable: true });
  const rb = await within(b);
  assert.ok(rb.ok);
  assert.equal(rb.handle.connection, a.connection);
  assert.equal(rb.handle.reused, true);
  p.release(rb.handle, { reusable: false }); // closed: c gets a new connection
  const rc = await within(c);
  assert.ok(rc.ok);
  assert.notEqual(rc.handle.connection, a.connection);
  assert.deepEqual(order, ['b', 'c']);
  assert.equal(origin.conns.length, 2);
  p.close();
  await origin.close();
});

test('cancel() of a queued request: it is never called back and the next one is served', async () => {
  const origin = await startOrigin();
  const { pool } = setup(origin.address);
  const p = pool({ maxConnections: 1 });
  const a = await ready(p);
  let bCalled = false;
  const b = p.acquire({ onReady: () => { bCalled = true; }, onFailure: () => { bCalled = true; } });
  const c = acquire(p);
  assert.equal(p.counts.pending, 2);
  b.cancel();
  assert.equal(p.counts.pending, 1);
  p.release(a, { reusable: true });
  const rc = await within(c);
  assert.ok(rc.ok);
  assert.equal(rc.handle.connection, a.connection);
  assert.equal(bCalled, false);
  p.close();
  await origin.close();
});

test('connect failure → onFailure(connect_failure); nothing left in the pool', async () => {
  const { pool } = setup(await refusedAddress());
  const p = pool();
  const r = await within(acquire(p));
  assert.ok(!r.ok);
  assert.equal(r.reason, 'connect_failure');
  assert.match(r.detail, /ECONNREFUSED/);
  assert.deepEqual(p.counts, { connecting: 0, busy: 0, idle: 0, pending: 0 });
  await p.drain();
});

test('drain() closes idle connections, waits for a busy one, then refuses new requests', async () => {
  const origin = await startOrigin();
  const { pool } = setup(origin.address);
  const p = pool();
  const [busy, idle] = await Promise.all([ready(p), ready(p)]);
  p.release(idle, { reusable: true });
  let drained = false;
  const done = p.drain().then(() => { drained = true; });
  await waitFor(() => idle.connection.closed, 2000, 'idle closed by drain');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(drained, false, 'busy connection still out');
  assert.equal(busy.connection.closed, false);
  assert.equal(await roundTrip(busy), RESPONSE);
  p.release(busy, { reusable: true });
  await within(done);
  assert.ok(busy.connection.closed);
  const r = await acquire(p);
  assert.ok(!r.ok && r.reason === 'closed');
  await origin.close();
});

test('close() fails waiting requests with closed and closes every connection', async () => {
  const origin = await startOrigin();
  const { pool } = setup(origin.address);
  const p = pool({ maxConnections: 1 });
  const a = await ready(p);
  const b = acquire(p);
  p.close();
  const rb = await within(b);
  assert.ok(!rb.ok && rb.reason === 'closed');
  assert.ok(a.connection.closed);
  p.release(a, { reusable: true }); // ignored
  assert.deepEqual(p.counts, { connecting: 0, busy: 0, idle: 0, pending: 0 });
  await origin.close();
});

test('a busy connection the upstream closes frees its slot for a waiting request', async () => {
  const origin = await startOrigin();
  const { pool } = setup(origin.address);
  const p = pool({ maxConnections: 1 });
  const a = await ready(p);
  const b = acquire(p);
  origin.conns[0]?.resetAndDestroy();
  const rb = await within(b);
  assert.ok(rb.ok);
  assert.equal(rb.handle.reused, false);
  p.release(a, { reusable: true }); // late release of the dead one: ignored
  assert.deepEqual(p.counts, { connecting: 0, busy: 1, idle: 0, pending: 0 });
  p.close();
  await origin.close();
});

test('acquire with newConnection: an idle connection is passed over, a new one is opened for the caller alone', async () => {
  const origin = await startOrigin();
  const { pool } = setup(origin.address);
  const p = pool();
  const first = await within(acquire(p));
  assert.ok(first.ok);
  p.release(first.handle, { reusable: true });
  assert.equal(p.counts.idle, 1);
  const fresh = await within(acquire(p, true));
  assert.ok(fresh.ok);
  assert.notEqual(fresh.handle, first.handle, 'not the idle connection');
  assert.equal(fresh.handle.reused, false);
  assert.equal(p.counts.idle, 1, 'the idle one is still there');
  await waitFor(() => origin.conns.length === 2, 2000, 'a second upstream connection');
  // a plain acquire meanwhile still takes the idle one
  const plain = await within(acquire(p));
  assert.ok(plain.ok);
  assert.equal(plain.handle, first.handle);
});

test('acquire with newConnection to a refused address fails that caller with connect_failure', async () => {
  const { pool } = setup(await refusedAddress());
  const r = await within(acquire(pool(), true));
  assert.equal(r.ok, false);
  if (!r.ok) assert.equal(r.reason, 'connect_failure');
});
