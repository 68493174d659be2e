// Bolt through Skiff over real sockets, raw bytes field by field (reliability.md §3.4, BOLT-a…j):
// forwarding with ids restored, heartbeats answered locally, the frame cap, unknown values refused,
// split reads, 1,000 requests answered out of order, oneway, the frame's timeout, upstream GoAway,
// GoAway to clients on a graceful stop, the legacy "X" config, idle rules, and detection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { XFrameKind } from '../../src/api/xprotocol.js';
import { BoltCmdCode, BoltStatus, BoltType, encodeBolt } from '../../src/extensions/codecs/bolt/bolt.js';
import { boltClient, boltContent, startBoltServer } from '../fakes/bolt-peer.js';
import { l7Document, startSkiff } from '../fakes/l7-harness.js';
import { rawRequest } from '../fakes/scripted-origin.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const R1 = hex('01 01 0001 01 00000001 01 00000bb8 0000 0000 00000004 70696e67');
const HB = hex('01 01 0000 01 00000002 01 00000000 0000 0000 00000000');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** R1 with a `service` header, so it can be routed by service; id and timeout as given. */
function request(id: number, service: string, content: string, timeoutMs = 3000, version: 1 | 2 = 1): Buffer {
  return encodeBolt({ version, type: BoltType.Request, cmdCode: BoltCmdCode.Request, requestId: id, timeoutMs, headers: { service }, content: Buffer.from(content) });
}

function rpcRoutes(extra: unknown[] = []): unknown[] {
  return [{ name: 'rpc', domains: ['*'], routers: [
    { match: { headers: [{ name: 'service', value: 'svc.A' }] }, route: { cluster_name: 'a' } },
    { match: { headers: [{ name: 'service', value: 'svc.B' }] }, route: { cluster_name: 'b' } },
    ...extra,
    // R1 carries no header map: the catch-all RPC rule (MOSN: service ".*") sends it to a.
    { match: { headers: [{ name: 'service', value: '.*', regex: true }] }, route: { cluster_name: 'a' } },
    { match: { prefix: '/' }, route: { cluster_name: 'a' } },
  ] }];
}

test('bolt proxy: forwarding, local heartbeats, bad input refused, split reads, out-of-order answers, oneway', async () => {
  const a = await startBoltServer({ name: 'A', shuffle: true });
  const b = await startBoltServer({ name: 'B' });
  const skiff = await startSkiff(l7Document({
    clusters: { a: [`127.0.0.1:${a.port}`], b: [`127.0.0.1:${b.port}`], down: ['127.0.0.1:1'] },
    virtualHosts: rpcRoutes([{ match: { headers: [{ name: 'service', value: 'svc.Down' }] }, route: { cluster_name: 'down' } }]),
    proxy: { downstream_protocol: 'bolt,boltv2' },
  }));
  try {
    // BOLT-a: R1 forwarded (it carries no service header: the catch-all route), id 1, status 0, content echoed.
    const c = await boltClient(skiff.port());
    c.write(R1);
    assert.ok(await c.until((fs) => fs.length === 1));
    const r1 = c.frames[0]!;
    assert.equal(r1.kind, XFrameKind.Response);
    assert.equal(r1.requestId, 1);
    assert.equal(r1.status, BoltStatus.Success);
    assert.equal(boltContent(r1), 'A:ping');
    assert.equal(a.receipts.length, 1);

    // BOLT-b: a heartbeat is answered by Skiff with exactly MOSN's bytes, never forwarded.
    c.write(HB);
    assert.ok(await c.until((fs) => fs.length === 2, 200), 'local heartbeat reply within 200 ms');
    assert.deepEqual(c.frames[1]!.bytes, hex('01 00 0000 01 00000002 01 0000 0000 0000 00000000'));
    assert.equal(a.heartbeats + b.heartbeats, 0, 'not forwarded');

    // Routing by service to two clusters; v1 and v2 on the same connection; ids restored.
    const routed = await Promise.all([c.call(10, 'svc.A', 'x'), c.call(11, 'svc.B', 'y')]);
    assert.deepEqual(routed.map(boltContent), ['A:x', 'B:y']);
    c.write(request(12, 'svc.B', 'v2', 3000, 2));
    assert.ok(await c.until((fs) => fs.some((f) => f.requestId === 12)));
    const v2 = c.frames.find((f) => f.requestId === 12)!;
    assert.equal(v2.bytes[0], 2, 'a v2 request gets a v2 response');
    assert.equal(boltContent(v2), 'B:v2');

    // A cluster whose host refuses connections → 0x06 NO_PROCESSOR, never a hang (no route: the third test).
    const down = await c.call(14, 'svc.Down', 'z');
    assert.equal(down.status, BoltStatus.NoProcessor);

    // BOLT-d: unknown cmdType → 0x09; unknown cmdCode → 0x06; neither forwarded; the connection lives.
    const receipts = a.receipts.length + b.receipts.length;
    c.write(hex('01 05 0001 01 00000015 01 00000bb8 0000 0000 00000000'));
    c.write(hex('01 01 0007 01 00000016 01 00000bb8 0000 0000 00000000'));
    assert.ok(await c.until((fs) => fs.some((f) => f.requestId === 0x15) && fs.some((f) => f.requestId === 0x16)));
    assert.equal(c.frames.find((f) => f.requestId === 0x15)!.status, BoltStatus.CodecException);
    assert.equal(c.frames.find((f) => f.requestId === 0x16)!.status, BoltStatus.NoProcessor);
    assert.equal(a.receipts.length + b.receipts.length, receipts, 'refused frames are never forwarded');
    assert.equal((await c.call(17, 'svc.A', 'still')).status, 0, 'the connection keeps serving');

    // BOLT-e: R1 one byte every 10 ms decodes; 3 × R1 plus half a 4th → 3 responses, the 4th waits.
    const e = await boltClient(skiff.port());
    for (const byte of R1) { e.write(Buffer.from([byte])); await sleep(10); }
    assert.ok(await e.until((fs) => fs.length === 1));
    const batch = [5, 6, 7, 8].map((id) => { const f = Buffer.from(R1); f.writeUInt32BE(id, 5); return f; });
    e.write(Buffer.concat([batch[0]!, batch[1]!, batch[2]!, batch[3]!.subarray(0, 13)]));
    assert.ok(await e.until((fs) => fs.length === 4));
    await sleep(50);
    assert.equal(e.frames.length, 4, 'the half frame waits');
    e.write(batch[3]!.subarray(13));
    assert.ok(await e.until((fs) => fs.length === 5));
    assert.deepEqual(e.frames.map((f) => f.requestId).sort((x, y) => x - y), [1, 5, 6, 7, 8]);

    // BOLT-f: 1,000 concurrent requests on one connection, answered upstream in random order: all matched.
    const f = await boltClient(skiff.port());
    const many: Buffer[] = [];
    for (let i = 1; i <= 1000; i++) many.push(request(i, 'svc.A', `m${i}`));
    f.write(Buffer.concat(many));
    assert.ok(await f.until((fs) => fs.length === 1000, 10_000), `got ${f.frames.length}`);
    for (const fr of f.frames) assert.equal(boltContent(fr), `A:m${fr.requestId}`);
    assert.equal(new Set(f.frames.map((fr) => fr.requestId)).size, 1000, 'no response twice');

    // BOLT-g: oneway forwarded, nothing comes back.
    const g = await boltClient(skiff.port());
    const before = b.receipts.length;
    g.write(encodeBolt({ type: BoltType.Oneway, cmdCode: BoltCmdCode.Request, requestId: 30, headers: { service: 'svc.B' }, content: Buffer.from('ow') }));
    const deadline = Date.now() + 2000;
    while (b.receipts.length === before && Date.now() < deadline) await sleep(5);
    assert.equal(b.receipts.length, before + 1);
    assert.equal(b.receipts.at(-1)!.kind, XFrameKind.Oneway);
    await sleep(100);
    assert.equal(g.frames.length, 0, 'no response to a oneway');

    // BOLT-c: a declared contentLen of 0xffffffff is refused at once (close), never buffered.
    const big = await boltClient(skiff.port());
    const t0 = Date.now();
    big.write(hex('01 01 0001 01 00000003 01 00000bb8 0000 0000 ffffffff' + '00'.repeat(16)));
    assert.ok(await big.until(() => false, 1000) === false && big.ended.closed, 'closed');
    assert.ok(Date.now() - t0 < 1000);
    // BOLT-d: an unknown proto byte (0x7f) closes the connection.
    const bad = await boltClient(skiff.port());
    bad.write(hex('7f 01 0001 01 00000001'));
    await bad.until(() => false, 1000);
    assert.ok(bad.ended.closed, 'unknown proto → close');
    // …and everyone else is still served.
    assert.equal((await c.call(40, 'svc.B', 'after')).status, 0);
    for (const x of [c, e, f, g]) x.close();
  } finally {
    await skiff.close();
    await a.close();
    await b.close();
  }
});

test('bolt proxy: the frame\'s timeout (BOLT-h), upstream GoAway (BOLT-i), GoAway to clients on a graceful stop (BOLT-j)', async () => {
  const slow = await startBoltServer({ name: 'S', delayMs: (f) => (boltContent(f) === 'slow' ? 2000 : boltContent(f) === 'late' ? 300 : 0) });
  const goaway = await startBoltServer({ name: 'G', goAwayBeforeResponse: true });
  const skiff = await startSkiff(l7Document({
    clusters: { a: [`127.0.0.1:${slow.port}`], b: [`127.0.0.1:${goaway.port}`] },
    virtualHosts: rpcRoutes(),
    proxy: { downstream_protocol: 'bolt', extend_config: { bolt: { enable_bolt_goaway: true } } },
  }));
  try {
    const c = await boltClient(skiff.port());
    // BOLT-h: timeout field 100 ms, upstream takes 2 s → 0x07 at 100–200 ms (generous bound), late answer dropped.
    const t0 = Date.now();
    const timedOut = await c.call(1, 'svc.A', 'slow', 100);
    const took = Date.now() - t0;
    assert.equal(timedOut.status, BoltStatus.Timeout);
    assert.ok(took >= 90 && took < 1500, `took ${took} ms`);

    // BOLT-i: the upstream sends GoAway before its response: delivered; the next request opens a new connection.
    const first = await c.call(2, 'svc.B', 'one');
    assert.equal(boltContent(first), 'G:one');
    const second = await c.call(3, 'svc.B', 'two');
    assert.equal(boltContent(second), 'G:two');
    assert.equal(goaway.accepted, 2, 'the connection that sent GoAway is not reused');

    // BOLT-j: a graceful stop 100 ms after a request (upstream answers at 300 ms): the response, then a GoAway.
    c.write(request(4, 'svc.A', 'late'));
    await sleep(100);
    const stopping = skiff.server.stopGracefully();
    assert.ok(await c.until((fs) => fs.some((f) => f.kind === XFrameKind.GoAway), 3000), 'GoAway received');
    const late = c.frames.find((f) => f.requestId === 4)!;
    assert.equal(late.status, 0);
    assert.equal(boltContent(late), 'S:late');
    const goAwayAt = c.frames.findIndex((f) => f.kind === XFrameKind.GoAway);
    assert.ok(c.frames.indexOf(late) < goAwayAt, 'the GoAway follows the in-flight response');
    assert.deepEqual(c.frames[goAwayAt]!.bytes.subarray(0, 4), hex('01 01 0064'));
    assert.equal(slow.receipts.at(-1) !== undefined && boltContent(slow.receipts.at(-1)!), 'late');
    await stopping;
    await sleep(2100); // the 2 s answer to request 1 arrives late upstream, if at all; nothing more reaches the client
    assert.equal(c.frames.filter((f) => f.requestId === 1).length, 1, 'the late upstream answer was discarded');
  } finally {
    await skiff.close();
    await slow.close();
    await goaway.close();
  }
});

test('bolt proxy: legacy "X" + sub_protocol config, no-route reply, idle rules and detection with HTTP/1 on one port', async () => {
  const a = await startBoltServer({ name: 'A' });
  const legacy = await startSkiff(l7Document({
    clusters: { a: [`127.0.0.1:${a.port}`] },
    virtualHosts: [{ name: 'rpc', domains: ['*'], routers: [{ match: { headers: [{ name: 'service', value: 'svc.A' }] }, route: { cluster_name: 'a' } }] }],
    proxy: { downstream_protocol: 'X', upstream_protocol: 'SofaRpc', extend_config: { sub_protocol: 'bolt', bolt: { max_frame_size: 4096 } } },
    listener: { connection_idle_timeout: '400ms' },
  }));
  const auto = await startSkiff(l7Document({
    clusters: { a: [`127.0.0.1:${a.port}`] },
    virtualHosts: [{ name: 'all', domains: ['*'], routers: [
      { match: { headers: [{ name: 'service', value: 'svc.A' }] }, route: { cluster_name: 'a' } },
      { match: { prefix: '/' }, direct_response: { status: 200, body: 'http here' } },
    ] }],
    proxy: { downstream_protocol: 'Auto', protocol_detect_timeout: '300ms' },
  }));
  try {
    const c = await boltClient(legacy.port());
    assert.equal(boltContent(await c.call(1, 'svc.A', 'hi')), 'A:hi', 'downstream_protocol "X" with sub_protocol "bolt"');
    const none = await c.call(2, 'svc.Nope', 'x');
    assert.equal(none.status, BoltStatus.NoProcessor, 'no route → NO_PROCESSOR');
    // extend_config.bolt.max_frame_size (4096 here): a bigger frame closes its connection; a smaller one passes.
    assert.equal(boltContent(await c.call(3, 'svc.A', 'x'.repeat(3000))).length, 3002);
    const big = await boltClient(legacy.port());
    big.write(request(4, 'svc.A', 'y'.repeat(5000)));
    await big.until(() => false, 1000);
    assert.ok(big.ended.closed, 'a frame over max_frame_size closes the connection');

    // A client's heartbeats keep its connection open past connection_idle_timeout; a silent one is closed.
    const beating = await boltClient(legacy.port());
    const silent = await boltClient(legacy.port());
    for (let i = 0; i < 8; i++) {
      beating.write(encodeBolt({ type: BoltType.Request, cmdCode: BoltCmdCode.Heartbeat, requestId: 100 + i, timeoutMs: -1 }));
      await sleep(100);
    }
    assert.equal(beating.ended.closed, false, 'heartbeats every 100 ms keep it open past 400 ms');
    assert.equal(beating.frames.filter((f) => f.kind === XFrameKind.HeartbeatResponse).length, 8);
    assert.ok(silent.ended.closed, 'a silent connection is closed at connection_idle_timeout');

    // Detection: HTTP/1 and Bolt on one port; a stall before the protocol is known closes at the detect timeout.
    const http = await rawRequest(auto.port(), 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.equal(http.status, 200);
    const viaAuto = await boltClient(auto.port());
    assert.equal(boltContent(await viaAuto.call(3, 'svc.A', 'auto')), 'A:auto');
    const staller = await boltClient(auto.port());
    const t0 = Date.now();
    staller.write(Buffer.from('GE'));
    await staller.until(() => false, 2000);
    assert.ok(staller.ended.closed, 'closed');
    assert.ok(Date.now() - t0 >= 250 && Date.now() - t0 < 1500, `closed after ${Date.now() - t0} ms`);
    const unknown = await boltClient(auto.port());
    unknown.write(hex('7f 7f 7f'));
    await unknown.until(() => false, 1000);
    assert.ok(unknown.ended.closed, 'unknown bytes without a fallback: closed');
    for (const x of [c, beating, viaAuto]) x.close();
  } finally {
    await legacy.close();
    await auto.close();
    await a.close();
  }
});
