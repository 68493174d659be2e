// Bolt end to end with real SOFARPC peers (issue 4 item 8, Bolt half): a sofa-rpc-node RpcClient
// (Bolt v1, hessian2) → Skiff (`proxy` with downstream_protocol "bolt", routing by the `service`
// header SOFA puts in every request, "<interface>:1.0") → sofa-rpc-node RpcServers. Real sockets on
// 127.0.0.1, port 0. The client's errors do not say which Bolt status caused them, so the client's
// socket is tapped (`received`) to see the statuses of Skiff's local replies.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { l7Document, startSkiff, type SkiffInProcess } from '../fakes/l7-harness.js';
import { startSofaClient, startSofaServer, type TappedBoltFrame } from '../fakes/sofa-peer.js';

const A = 'com.skiff.test.EchoA';
const B = 'com.skiff.test.EchoB';
const DOWN = 'com.skiff.test.Down';
const UNKNOWN = 'com.skiff.test.Unknown';

const BOLT_NO_PROCESSOR = 0x06;
const BOLT_TIMEOUT = 0x07;
const isResponse = (f: TappedBoltFrame): boolean => f.type === 0 && f.cmdCode === 2;
/** A hang fails the test instead of the run. */
const T = { timeout: 10_000 };

/** A port with nothing listening (bound then released). */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Skiff routing `<interface>:1.0` → cluster, one route per entry. */
async function skiffFor(routes: Record<string, string>, clusters: Record<string, readonly string[]>): Promise<SkiffInProcess> {
  return startSkiff(l7Document({
    clusters,
    virtualHosts: [{
      name: 'sofa',
      domains: ['*'],
      routers: Object.entries(routes).map(([iface, cluster]) => ({
        match: { headers: [{ name: 'service', value: `${iface}:1.0` }] },
        route: { cluster_name: cluster },
      })),
    }],
    proxy: { downstream_protocol: 'bolt' },
  }));
}

/**
 * Closes what a test started, newest first (client, Skiff, then servers), even when setup or the test
 * fails: a listening peer or a pending call would keep the run alive.
 */
const cleanups = new WeakMap<TestContext, { close(): Promise<void> }[]>();
function closing<R extends { close(): Promise<void> }>(t: TestContext, r: R): R {
  let stack = cleanups.get(t);
  if (stack === undefined) {
    const s: { close(): Promise<void> }[] = [];
    stack = s;
    cleanups.set(t, s);
    t.after(async () => { for (let x = s.pop(); x !== undefined; x = s.pop()) await x.close(); });
  }
  stack.push(r);
  return r;
}

test('1,000 concurrent calls from one SOFA client through Skiff, answered out of order: each gets its own value, over one upstream connection', { timeout: 20_000 }, async (t) => {
  const a = closing(t, await startSofaServer({ name: 'A', interfaces: [A] }));
  const skiff = closing(t, await skiffFor({ [A]: 'a' }, { a: [`127.0.0.1:${a.port}`] }));
  // ~1 s on an idle machine; the generous per-call timeout only keeps a busy machine from failing it.
  const client = closing(t, startSofaClient(`127.0.0.1:${skiff.port()}`, { responseTimeoutMs: 15_000 }));
  const n = 1000;
  // Delays 0..22 ms make the server answer out of order, so Skiff's id mapping is what keeps them apart.
  const results = await Promise.all(Array.from({ length: n }, (_, i) => client.invoke(A, 'echoAfter', [i, (i * 7) % 23])));
  for (let i = 0; i < n; i++) assert.equal(results[i], `A:${i}`, `call ${i} got its own answer`);
  const ids = client.received.filter(isResponse).map((f) => f.requestId);
  assert.ok(ids.some((id, k) => k > 0 && id < ids[k - 1]!), 'responses did arrive out of request order');
  assert.equal(a.calls.length, n, 'every call reached the server exactly once');
  assert.equal(new Set(a.calls.map((c) => c.args[0])).size, n);
  assert.equal(a.connections, 1, 'one shared multiplexed upstream connection');
  assert.equal(client.received.filter(isResponse).length, n, 'one Bolt response per call on the client socket');
  assert.ok(client.received.every((f) => f.status === 0), 'all with status success');
});

test('routing by interface: calls to two interfaces land on two clusters; an unknown interface gets 0x06', T, async (t) => {
  const a = closing(t, await startSofaServer({ name: 'A', interfaces: [A] }));
  const b = closing(t, await startSofaServer({ name: 'B', interfaces: [B] }));
  const skiff = closing(t, await skiffFor({ [A]: 'ca', [B]: 'cb' }, { ca: [`127.0.0.1:${a.port}`], cb: [`127.0.0.1:${b.port}`] }));
  const client = closing(t, startSofaClient(`127.0.0.1:${skiff.port()}`));
  const calls = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? client.invoke(A, 'whoami', []) : client.invoke(B, 'echo', [i])));
  const results = await Promise.all(calls);
  results.forEach((r, i) => assert.equal(r, i % 2 === 0 ? 'A' : `B:${i}`, `call ${i}`));
  assert.equal(a.calls.length, 20);
  assert.equal(b.calls.length, 20);
  assert.ok(a.calls.every((c) => c.service === A), 'server A only saw its interface');
  assert.ok(b.calls.every((c) => c.service === B), 'server B only saw its interface');

  const before = client.received.length;
  await assert.rejects(client.invoke(UNKNOWN, 'echo', ['x']), Error, 'no route: an error, not a hang');
  const reply = await client.waitFor((f) => isResponse(f) && client.received.indexOf(f) >= before, 3000);
  assert.equal(reply.status, BOLT_NO_PROCESSOR, 'no route → Bolt 0x06 from Skiff');
  assert.equal(a.calls.length + b.calls.length, 40, 'nothing forwarded');
});

test('a server exception reaches the SOFA client as an error carrying the server\'s message; the next call succeeds', T, async (t) => {
  const a = closing(t, await startSofaServer({ name: 'A', interfaces: [A] }));
  const skiff = closing(t, await skiffFor({ [A]: 'a' }, { a: [`127.0.0.1:${a.port}`] }));
  const client = closing(t, startSofaClient(`127.0.0.1:${skiff.port()}`));
  await assert.rejects(client.invoke(A, 'fail', ['boom-from-server-A 42']), (err: Error) => {
    assert.match(err.message, /boom-from-server-A 42/);
    return true;
  });
  const failed = client.received.filter(isResponse).at(-1);
  assert.equal(failed?.status, 0x02, 'the server\'s status (sofa-rpc-node: 0x02 server exception) passed through');
  assert.equal(await client.invoke(A, 'echo', ['after']), 'A:after');
});

test('upstream restart: calls fail with an error while the server is down, then succeed through the same Skiff on a new upstream connection', T, async (t) => {
  const a1 = closing(t, await startSofaServer({ name: 'A1', interfaces: [A] }));
  const port = a1.port;
  const skiff = closing(t, await skiffFor({ [A]: 'a' }, { a: [`127.0.0.1:${port}`] }));
  const client = closing(t, startSofaClient(`127.0.0.1:${skiff.port()}`, { responseTimeoutMs: 5000 }));
  assert.equal(await client.invoke(A, 'whoami', []), 'A1');

  // A call in flight when the server goes away is answered (upstream reset → 0x06), not left to time out.
  const inFlight = client.invoke(A, 'sleep', [3000]);
  inFlight.catch(() => undefined);
  for (let i = 0; a1.sleeping === 0; i++) {
    assert.ok(i < 400, 'the sleeping call reached the server');
    await new Promise((r) => setTimeout(r, 5));
  }
  const mark = client.received.length;
  await a1.close();
  await assert.rejects(inFlight, (err: Error) => {
    assert.notEqual(err.name, 'RpcResponseTimeoutError', `an answer, not the client's own timeout: ${err.message}`);
    return true;
  });
  const reset = await client.waitFor((f) => isResponse(f) && client.received.indexOf(f) >= mark, 3000);
  assert.equal(reset.status, BOLT_NO_PROCESSOR, 'reset → Bolt 0x06');

  // While nothing listens: connect refused → an error for each call.
  for (let i = 0; i < 3; i++) {
    const m = client.received.length;
    await assert.rejects(client.invoke(A, 'echo', [i]), (err: Error) => {
      assert.notEqual(err.name, 'RpcResponseTimeoutError', `an answer, not the client's own timeout: ${err.message}`);
      return true;
    });
    const f = await client.waitFor((x) => isResponse(x) && client.received.indexOf(x) >= m, 3000);
    assert.equal(f.status, BOLT_NO_PROCESSOR, 'connect failure → Bolt 0x06');
  }

  const a2 = closing(t, await startSofaServer({ name: 'A2', interfaces: [A], port }));
  assert.equal(a2.port, port, 'restarted on the same port');
  // Strict: the first call after the restart succeeds (each request may connect; no stale connection or backoff in the way).
  assert.equal(await client.invoke(A, 'whoami', []), 'A2', 'the restarted server answers through the same Skiff');
  assert.equal(a2.connections, 1, 'Skiff opened a new upstream connection');
  assert.equal(await client.invoke(A, 'echo', ['again']), 'A2:again');
});

test('timeouts: a 2 s method called with a 300 ms timeout fails promptly (Skiff answers 0x07) and Skiff serves the next call; a cluster with no reachable host gets 0x06', T, async (t) => {
  const a = closing(t, await startSofaServer({ name: 'A', interfaces: [A] }));
  const down = await closedPort();
  const skiff = closing(t, await skiffFor({ [A]: 'a', [DOWN]: 'down' }, { a: [`127.0.0.1:${a.port}`], down: [`127.0.0.1:${down}`] }));
  const client = closing(t, startSofaClient(`127.0.0.1:${skiff.port()}`));
  assert.equal(await client.invoke(A, 'echo', ['warm']), 'A:warm');

  const mark = client.received.length;
  const started = Date.now();
  await assert.rejects(client.invoke(A, 'sleep', [2000], 300), Error);
  const failedAfterMs = Date.now() - started;
  assert.ok(failedAfterMs < 2000, `an error before the method would have returned, not a hang (after ${failedAfterMs} ms)`);
  // The client's own 300 ms timer and Skiff's deadline (the Bolt timeout field) race, usually won by
  // the client; Skiff's reply must come either way (the server itself sends nothing once the caller's
  // timeout has passed). Without the Bolt field Skiff would wait for its 60 s default.
  const late = await client.waitFor((f) => isResponse(f) && client.received.indexOf(f) >= mark, 3000);
  assert.equal(late.status, BOLT_TIMEOUT, 'Skiff answered the timed-out request with Bolt 0x07');
  assert.equal(await client.invoke(A, 'echo', ['next']), 'A:next', 'Skiff stays healthy');

  const m2 = client.received.length;
  await assert.rejects(client.invoke(DOWN, 'echo', ['x']), (err: Error) => {
    assert.notEqual(err.name, 'RpcResponseTimeoutError', `promptly: an answer, not the client's own 3 s timeout: ${err.message}`);
    return true;
  });
  const d = await client.waitFor((f) => isResponse(f) && client.received.indexOf(f) >= m2, 3000);
  assert.equal(d.status, BOLT_NO_PROCESSOR, 'no reachable host → Bolt 0x06');
  assert.equal(await client.invoke(A, 'echo', ['still']), 'A:still');
});

test('Bolt heartbeats sent by sofa-rpc-node are answered', T, async (t) => {
  const a = closing(t, await startSofaServer({ name: 'A', interfaces: [A] }));
  const skiff = closing(t, await skiffFor({ [A]: 'a' }, { a: [`127.0.0.1:${a.port}`] }));
  const client = closing(t, startSofaClient(`127.0.0.1:${skiff.port()}`, { heartbeatIdleMs: 0 }));
  assert.equal(await client.invoke(A, 'echo', [1]), 'A:1');
  await new Promise((r) => setTimeout(r, 5)); // the library sends only after idleness > heartbeatIdleMs
  client.heartbeat();
  const ack = await client.waitFor((f) => f.type === 0 && f.cmdCode === 0, 3000);
  assert.equal(ack.status, 0, 'heartbeat ack with status success');
  assert.equal(await client.invoke(A, 'echo', [2]), 'A:2');
});

test('Bolt v2 with CRC32 (sofa-rpc-node "bolt2"): Skiff rewrites the request id both ways and both peers\' CRC checks pass', T, async (t) => {
  const a = closing(t, await startSofaServer({ name: 'A', interfaces: [A] }));
  const skiff = closing(t, await skiffFor({ [A]: 'a' }, { a: [`127.0.0.1:${a.port}`] }));
  const client = closing(t, startSofaClient(`127.0.0.1:${skiff.port()}`, { boltV2: { crc: true } }));
  // sofa-bolt-node verifies the CRC of every v2 frame it decodes and drops the connection on a mismatch:
  // the server checks Skiff's rewritten requests, the client checks the restored responses.
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => client.invoke(A, 'echoAfter', [i, (i * 5) % 11])));
  results.forEach((r, i) => assert.equal(r, `A:${i}`));
  const responses = client.received.filter(isResponse);
  assert.equal(responses.length, 50);
  assert.ok(responses.every((f) => f.version === 2 && f.status === 0), 'v2 responses, status success');
  assert.equal(client.errors.length, 0);
  assert.equal(a.connections, 1, 'the upstream connection survived (no CRC failure)');
});
