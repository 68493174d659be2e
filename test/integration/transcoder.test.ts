// MOSN's transcoder stream filter over real sockets: an HTTP/1 request becomes a Bolt request
// (http2bolt_simple: headers → header map, body → content, class SofaRequest) and the Bolt response an
// HTTP response (header map → headers, content → body, 200 / 500 by the Bolt status).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { XFrameKind } from '../../src/api/xprotocol.js';
import { boltFrameParts, BoltCmdCode, BoltStatus, BoltType, encodeBolt, SOFA_REQUEST_CLASS } from '../../src/extensions/codecs/bolt/bolt.js';
import { boltContent, onBoltFrames, startBoltServer } from '../fakes/bolt-peer.js';
import { l7Document, startSkiff } from '../fakes/l7-harness.js';
import { headerOf, rawRequest } from '../fakes/scripted-origin.js';
import net from 'node:net';

test('transcoder http2bolt_simple: HTTP/1 → Bolt upstream and back, field for field; failures are HTTP statuses', async () => {
  const bolt = await startBoltServer({ name: 'B' });
  // A Bolt server that answers with an error status and a header.
  const failing = net.createServer((s) => {
    s.on('error', () => undefined);
    onBoltFrames(s, (f) => {
      if (f.kind !== XFrameKind.Request) return;
      s.write(encodeBolt({ type: BoltType.Response, cmdCode: BoltCmdCode.Response, requestId: f.requestId, status: BoltStatus.ServerException, headers: { 'x-err': 'boom' }, content: Buffer.from('failed') }));
    });
  });
  await new Promise<void>((r) => failing.listen(0, '127.0.0.1', r));
  const doc = l7Document({
    clusters: { bolt: [`127.0.0.1:${bolt.port}`], failing: [`127.0.0.1:${(failing.address() as net.AddressInfo).port}`], down: ['127.0.0.1:1'] },
    virtualHosts: [{ name: 'all', domains: ['*'], routers: [
      { match: { prefix: '/fail' }, route: { cluster_name: 'failing' } },
      { match: { prefix: '/down' }, route: { cluster_name: 'down' } },
      { match: { prefix: '/' }, route: { cluster_name: 'bolt', timeout: '2s' } },
    ] }],
    listener: { stream_filters: [{ type: 'transcoder', config: { type: 'http2bolt_simple' } }] },
  });
  const skiff = await startSkiff(doc);
  try {
    const r = await rawRequest(skiff.port(), 'POST /hello HTTP/1.1\r\nHost: x\r\nService: com.example.Echo:1.0\r\nContent-Length: 5\r\n\r\nworld');
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'B:world', 'the body was the Bolt content; the Bolt content is the HTTP body');
    const got = bolt.receipts.at(-1)!;
    assert.equal(got.kind, XFrameKind.Request);
    assert.equal(got.headers.get('service'), 'com.example.Echo:1.0', 'HTTP headers became the Bolt header map');
    assert.equal(got.headers.get('host'), 'x');
    assert.equal(boltFrameParts(got.bytes).className, SOFA_REQUEST_CLASS);
    assert.ok(got.timeoutMs > 0 && got.timeoutMs <= 2000, `the route timeout became the Bolt timeout (${got.timeoutMs})`);
    assert.equal(boltContent(got), 'world');
    const f = await rawRequest(skiff.port(), 'GET /fail HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(f.status, 500, 'a Bolt error status → 500');
    assert.equal(headerOf(f.headers, 'x-err'), 'boom', 'header-map entries became headers');
    assert.equal(f.body.toString(), 'failed');
    const d = await rawRequest(skiff.port(), 'GET /down HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(d.status, 503, 'no Bolt upstream → 503');
  } finally {
    await skiff.close();
    await bolt.close();
    await new Promise<void>((r) => failing.close(() => r()));
  }
});
