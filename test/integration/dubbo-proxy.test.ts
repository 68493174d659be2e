// Dubbo through Skiff over real sockets (reliability.md §3.5, issue 4 items 3, 4, 8). First raw bytes field
// by field (DUBBO-a…c: local heartbeats, bad magic, the frame cap, a response from a client, refused bodies
// and serializations), then the real apache-dubbo-js client through Skiff to providers built on the fake:
// 1,000 concurrent calls, routing by service / version / method / group, provider exceptions, an upstream
// restart, the route timeout, and no route.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { XFrameKind } from '../../src/api/xprotocol.js';
import { DubboStatus, encodeDubboFrame, encodeDubboRequest, type DubboRequestMessage } from '../../src/extensions/codecs/dubbo/dubbo.js';
import { hessian2String } from '../../src/extensions/codecs/dubbo/hessian2-writer.js';
import { dubboRawClient, dubboResult, startDubboJsClient, startDubboProvider, type DubboProvider } from '../fakes/dubbo-peer.js';
import { l7Document, startSkiff } from '../fakes/l7-harness.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A hessian2 request for `service` (version 1.0.0 unless given) with string arguments. */
function request(requestId: number, service: string, method: string, args: readonly string[], extra: Partial<DubboRequestMessage> = {}): Buffer {
  return encodeDubboRequest({
    requestId, service, method, version: '1.0.0',
    parameterTypes: 'Ljava/lang/String;'.repeat(args.length),
    args: args.map((a) => hessian2String(a)),
    attachments: { path: service, interface: service },
    ...extra,
  });
}

const by = (...headers: Array<[string, string]>): unknown => ({ headers: headers.map(([name, value]) => ({ name, value })) });

test('dubbo proxy, raw bytes: local heartbeats (DUBBO-a), bad magic (DUBBO-b), frame cap (DUBBO-c), client responses, refused bodies', async () => {
  const a = await startDubboProvider({ name: 'A' });
  const skiff = await startSkiff(l7Document({
    clusters: { a: [`127.0.0.1:${a.port}`] },
    virtualHosts: [{ name: 'rpc', domains: ['*'], routers: [{ match: by(['service', 'com.foo.A']), route: { cluster_name: 'a' } }] }],
    proxy: { downstream_protocol: 'dubbo' },
  }));
  const clients: Array<{ close(): void }> = [];
  const client = async (): Promise<Awaited<ReturnType<typeof dubboRawClient>>> => { const c = await dubboRawClient(skiff.port()); clients.push(c); return c; };
  try {
    // A proxied request, raw: the provider's value under the client's own id.
    const c = await client();
    c.write(request(7, 'com.foo.A', 'echo', ['raw']));
    const r7 = await c.response(7);
    assert.equal(r7.status, DubboStatus.Ok);
    assert.deepEqual(dubboResult(r7), { flag: 1, value: 'A:echo:raw' });
    assert.equal(a.receipts.length, 1);

    // DUBBO-a: a heartbeat is answered by Skiff itself: event response (bit 7 clear, bit 5 set), status 20, id 1.
    c.write(hex('da bb e2 00 0000000000000001 00000001 4e'));
    const hb = await c.response(1);
    assert.equal(hb.flag & 0x80, 0, 'a response');
    assert.equal(hb.flag & 0x20, 0x20, 'an event');
    assert.equal(hb.bytes[3], 0x14);
    assert.equal(hb.kind, XFrameKind.HeartbeatResponse);
    assert.equal(a.receipts.length, 1, 'not forwarded');
    assert.equal(a.heartbeats, 0, 'not forwarded as a heartbeat either');

    // An undecodable body (truncated string, framing sound) → 40 with the same id; the connection keeps serving.
    const good = request(8, 'com.foo.A', 'echo', ['x']);
    const truncated = encodeDubboFrame({ flag: 0xc2, requestId: 8, body: good.subarray(16, 16 + 4) });
    c.write(truncated);
    const r8 = await c.response(8);
    assert.equal(r8.status, DubboStatus.BadRequest);
    // An unknown serialization id (6) → 40, same id.
    c.write(request(9, 'com.foo.A', 'echo', ['y'], { serialization: 6 }));
    assert.equal((await c.response(9)).status, DubboStatus.BadRequest);
    assert.equal(a.receipts.length, 1, 'refused frames are never forwarded');
    c.write(request(10, 'com.foo.A', 'echo', ['after']));
    assert.deepEqual(dubboResult(await c.response(10)), { flag: 1, value: 'A:echo:after' });
    assert.equal(c.ended.closed, false);

    // DUBBO-b: bad magic → close, nothing answered.
    const bad = await client();
    bad.write(hex('ca fe c2 00 0000000000000002 00000001 4e'));
    await bad.until(() => false, 1000);
    assert.ok(bad.ended.closed, 'bad magic closes');
    assert.equal(bad.frames.length, 0);
    // …right after a valid frame on the same connection: the valid one answered, then the bad magic closes.
    const mixed = await client();
    mixed.write(request(11, 'com.foo.A', 'echo', ['first']));
    assert.deepEqual(dubboResult(await mixed.response(11)), { flag: 1, value: 'A:echo:first' });
    mixed.write(hex('ca fe c2 00 0000000000000002 00000001 4e'));
    await mixed.until(() => false, 1000);
    assert.ok(mixed.ended.closed, 'bad magic mid-connection closes');
    assert.equal(mixed.frames.length, 1);
    // …and in one write with the valid frame (the strict DUBBO-b): close, the valid one forwarded once at most.
    const oneWrite = await client();
    const receipts = a.receipts.length;
    oneWrite.write(Buffer.concat([request(13, 'com.foo.A', 'echo', ['glued']), hex('ca fe c2 00 0000000000000002 00000001 4e')]));
    await oneWrite.until(() => false, 1000);
    assert.ok(oneWrite.ended.closed, 'closed');
    assert.ok(a.receipts.length - receipts <= 1);
    assert.ok(oneWrite.frames.every((f) => f.requestId === 13), 'nothing but the valid frame\'s answer');

    // DUBBO-c: dataLen 0x7fffffff and a little data → close within a second, never buffered.
    const big = await client();
    const t0 = Date.now();
    big.write(hex('da bb c2 00 0000000000000003 7fffffff' + '00'.repeat(32)));
    await big.until(() => false, 1000);
    assert.ok(big.ended.closed, 'over-cap frame closes');
    assert.ok(Date.now() - t0 < 1500);

    // A response frame sent by a client → close.
    const backwards = await client();
    backwards.write(hex('da bb 02 14 0000000000000004 00000002 9194'));
    await backwards.until(() => false, 1000);
    assert.ok(backwards.ended.closed, 'a response from a client closes its connection');

    // Everyone else is still served.
    c.write(request(12, 'com.foo.A', 'echo', ['still']));
    assert.deepEqual(dubboResult(await c.response(12)), { flag: 1, value: 'A:echo:still' });
    assert.equal(a.undecodable, 0, 'the provider never saw a bad body');
  } finally {
    for (const c of clients) c.close();
    await skiff.close();
    await a.close();
  }
});

test('dubbo proxy, apache-dubbo-js client: 1,000 concurrent calls, routing, exceptions, upstream restart, timeout, no route', async () => {
  const a1 = await startDubboProvider({ name: 'A1' });
  const a2 = await startDubboProvider({ name: 'A2' });
  const b = await startDubboProvider({ name: 'B' });
  const m = await startDubboProvider({ name: 'M' });
  const g = await startDubboProvider({ name: 'G' });
  const slow = await startDubboProvider({ name: 'S', sleepMs: { sleep: 2000 } });
  let r: DubboProvider = await startDubboProvider({ name: 'R' });
  const providers = (): DubboProvider[] => [a1, a2, b, m, g, slow, r];
  const skiff = await startSkiff(l7Document({
    clusters: {
      a1: [`127.0.0.1:${a1.port}`], a2: [`127.0.0.1:${a2.port}`], b: [`127.0.0.1:${b.port}`],
      m: [`127.0.0.1:${m.port}`], g: [`127.0.0.1:${g.port}`], slow: [`127.0.0.1:${slow.port}`], r: [`127.0.0.1:${r.port}`],
    },
    virtualHosts: [{ name: 'rpc', domains: ['*'], routers: [
      { match: by(['service', 'com.foo.A'], ['version', '1.0.0']), route: { cluster_name: 'a1' } },
      { match: by(['service', 'com.foo.A'], ['version', '2.0.0']), route: { cluster_name: 'a2' } },
      // By method: through MOSN's variable x-mosn-rpc-method (a `method` header rule works too: see the last tests).
      { match: { ...(by(['service', 'com.foo.B']) as object), variables: [{ name: 'x-mosn-rpc-method', value: 'special' }] }, route: { cluster_name: 'm' } },
      { match: by(['service', 'com.foo.B'], ['group', 'blue']), route: { cluster_name: 'g' } },
      { match: by(['service', 'com.foo.B']), route: { cluster_name: 'b' } },
      { match: by(['service', 'com.foo.Slow']), route: { cluster_name: 'slow', timeout: '300ms' } },
      { match: by(['service', 'com.foo.Restart']), route: { cluster_name: 'r' } },
    ] }],
    proxy: { downstream_protocol: 'dubbo' },
  }));
  const client = startDubboJsClient(skiff.port(), 5);
  try {
    const methods = ['echo', 'whoami', 'special', 'fail', 'failText', 'sleep'];
    const aV1 = client.service({ dubboInterface: 'com.foo.A', version: '1.0.0', methods });
    const aV2 = client.service({ dubboInterface: 'com.foo.A', version: '2.0.0', methods });
    const bPlain = client.service({ dubboInterface: 'com.foo.B', version: '1.0.0', methods });
    const bBlue = client.service({ dubboInterface: 'com.foo.B', version: '1.0.0', group: 'blue', methods });
    const slowSvc = client.service({ dubboInterface: 'com.foo.Slow', version: '1.0.0', methods });
    const restart = client.service({ dubboInterface: 'com.foo.Restart', version: '1.0.0', methods });
    const none = client.service({ dubboInterface: 'com.foo.Nowhere', version: '1.0.0', methods });

    // B1: 1,000 concurrent calls with distinct arguments, each answered with its own value, one upstream connection.
    const many = await Promise.all(Array.from({ length: 1000 }, (_, i) => aV1.echo!(`v${i}`)));
    many.forEach((res, i) => {
      assert.equal(res.err, null, `call ${i}: ${String(res.err)}`);
      assert.equal(res.res, `A1:echo:v${i}`);
    });
    assert.equal(a1.receipts.length, 1000);
    assert.equal(new Set(a1.receipts.map((x) => x.args[0])).size, 1000, 'every argument arrived once');
    assert.equal(a1.accepted, 1, 'one multiplexed upstream connection');

    // B2: routing by service, version, method and group; the answer names the provider that served it.
    assert.equal((await aV1.whoami!()).res, 'A1');
    assert.equal((await aV2.whoami!()).res, 'A2', 'the same interface, version 2.0.0 → another cluster');
    assert.equal((await bPlain.whoami!()).res, 'B');
    assert.equal((await bPlain.special!('s')).res, 'M:special:s', 'by method');
    assert.equal((await bBlue.whoami!()).res, 'G', 'by group');
    assert.deepEqual([a2, b, m, g].map((p) => p.receipts.length), [1, 1, 1, 1]);
    assert.equal(a2.receipts[0]!.version, '2.0.0');
    assert.equal(g.receipts[0]!.group, 'blue');

    // B3: a provider exception reaches the client as an error (a Java exception object, and a bare string).
    const failed = await aV1.fail!('boom');
    assert.ok(failed.err instanceof Error, 'an error');
    assert.match(failed.err.message, /boom/);
    assert.equal(failed.res, null);
    const failedText = await aV1.failText!('bare');
    assert.ok(failedText.err instanceof Error);
    assert.match(failedText.err.message, /bare/);

    // B6: no route → an error, status 60 (SERVICE_NOT_FOUND) on the wire; nothing forwarded.
    const before = providers().reduce((n, p) => n + p.receipts.length, 0);
    const lost = await none.echo!('x');
    assert.ok(lost.err instanceof Error, 'no route is an error');
    assert.equal(client.frames.at(-1)!.status, DubboStatus.ServiceNotFound);
    assert.equal(providers().reduce((n, p) => n + p.receipts.length, 0), before);

    // B4: an upstream restart. Up → served; down → an error at once (60), not the client's 5 s timeout;
    // back up on the same port → served again.
    assert.equal((await restart.echo!('up')).res, 'R:echo:up');
    const port = r.port;
    await r.close();
    let t0 = Date.now();
    const down = await restart.echo!('down');
    assert.ok(down.err instanceof Error, 'provider down is an error');
    assert.doesNotMatch(down.err.message, /timeout/i, 'not the client\'s own timeout');
    assert.ok(Date.now() - t0 < 4000, 'answered before the client gave up');
    assert.equal(client.frames.at(-1)!.status, DubboStatus.ServiceNotFound);
    r = await startDubboProvider({ name: 'R2', port });
    const back = await restart.echo!('back');
    assert.equal(back.err, null, String(back.err));
    assert.equal(back.res, 'R2:echo:back');

    // B5: route timeout 300 ms, the provider sleeps 2 s → an error with status 30 long before the client's
    // own 5 s timeout (and before the provider would answer); Skiff keeps serving.
    t0 = Date.now();
    const timedOut = await slowSvc.sleep!('z');
    const took = Date.now() - t0;
    assert.ok(timedOut.err instanceof Error, 'timeout is an error');
    assert.equal(client.frames.at(-1)!.status, DubboStatus.ClientTimeout);
    assert.ok(took >= 250 && took < 1900, `took ${took} ms`);
    assert.equal(slow.receipts.length, 1);
    assert.equal((await aV1.echo!('after-timeout')).res, 'A1:echo:after-timeout');
  } finally {
    await client.close();
    await skiff.close();
    for (const p of providers()) await p.close();
  }
});

// Two Skiff bugs found by these tests (now fixed): the `method` rule on RPC requests, and answers dropped on a later malformed frame.
test('dubbo proxy: a route matching the frame header `method` (Dubbo method name)', async () => {
  const m = await startDubboProvider({ name: 'M' });
  const b = await startDubboProvider({ name: 'B' });
  const skiff = await startSkiff(l7Document({
    clusters: { m: [`127.0.0.1:${m.port}`], b: [`127.0.0.1:${b.port}`] },
    virtualHosts: [{ name: 'rpc', domains: ['*'], routers: [
      { match: by(['service', 'com.foo.B'], ['method', 'special']), route: { cluster_name: 'm' } },
      { match: by(['service', 'com.foo.B']), route: { cluster_name: 'b' } },
    ] }],
    proxy: { downstream_protocol: 'dubbo' },
  }));
  const c = await dubboRawClient(skiff.port());
  try {
    c.write(request(1, 'com.foo.B', 'special', ['s']));
    assert.deepEqual(dubboResult(await c.response(1)), { flag: 1, value: 'M:special:s' });
  } finally {
    c.close();
    await skiff.close();
    await m.close();
    await b.close();
  }
});

test('dubbo proxy: a valid frame and bad magic in one write: the valid one answered, then close', async () => {
  const a = await startDubboProvider({ name: 'A' });
  const skiff = await startSkiff(l7Document({
    clusters: { a: [`127.0.0.1:${a.port}`] },
    virtualHosts: [{ name: 'rpc', domains: ['*'], routers: [{ match: by(['service', 'com.foo.A']), route: { cluster_name: 'a' } }] }],
    proxy: { downstream_protocol: 'dubbo' },
  }));
  const c = await dubboRawClient(skiff.port());
  try {
    c.write(Buffer.concat([request(11, 'com.foo.A', 'echo', ['first']), hex('ca fe c2 00 0000000000000002 00000001 4e')]));
    await c.until(() => false, 1000);
    assert.ok(c.ended.closed, 'closed after the bad frame');
    assert.equal(a.receipts.length, 1, 'the valid frame was forwarded');
    assert.equal(c.frames.length, 1, 'the valid frame was answered before the close');
    assert.deepEqual(dubboResult(c.frames[0]!), { flag: 1, value: 'A:echo:first' });
  } finally {
    c.close();
    await skiff.close();
    await a.close();
  }
});
