// XProtocol through the `proxy` filter (issue 4 groundwork) with the example codec `x_example`:
// routing by the `service` header (MOSN's RPC rule) to two clusters over shared multiplexed upstream
// connections, local replies the client's codec understands (no route 404, no upstream 502, timeout
// 504), heartbeats answered by Skiff, and HTTP/1 and x_example detected on one port ("Auto").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { XFrameKind, XLocalStatus, type XFrame } from '../../src/api/xprotocol.js';
import { encodeXExample, XExampleCodec } from '../../src/extensions/codecs/x-example/x-example.js';
import { createBuiltinRegistries } from '../../src/registry/registries.js';
import { onXExampleFrames, xPayload } from '../fakes/x-example-peer.js';
import { l7Document, startSkiff } from '../fakes/l7-harness.js';
import { rawRequest } from '../fakes/scripted-origin.js';


/** An RPC server that answers `name:payload` (or never answers when `silent`). */
async function rpcServer(name: string, silent = false): Promise<{ port: number; connections: number; close(): Promise<void> }> {
  const sockets: net.Socket[] = [];
  const state = { port: 0, connections: 0, close: async () => undefined as void };
  const server = net.createServer((s) => {
    state.connections++;
    sockets.push(s);
    s.on('error', () => undefined);
    onXExampleFrames(s, (f) => {
      if (silent || f.kind !== XFrameKind.Request) return;
      const payload = xPayload(f);
      s.write(encodeXExample({ kind: XFrameKind.Response, requestId: f.requestId, payload: Buffer.concat([Buffer.from(`${name}:`), payload]) }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.port = (server.address() as net.AddressInfo).port;
  state.close = async () => { for (const s of sockets) s.destroy(); await new Promise<void>((r) => server.close(() => r())); };
  return state;
}

async function rpcClient(port: number) {
  const s = net.connect(port, '127.0.0.1');
  await new Promise((r) => s.once('connect', r));
  s.on('error', () => undefined);
  const got = new Map<number, XFrame>();
  onXExampleFrames(s, (f) => {
    got.set(f.requestId, f);
  });
  const call = async (id: number, headers: Record<string, string>, payload = 'p', kind: XFrameKind = XFrameKind.Request): Promise<XFrame> => {
    s.write(encodeXExample({ kind, requestId: id, headers, payload: Buffer.from(payload) }));
    const until = Date.now() + 3000;
    while (!got.has(id)) { if (Date.now() > until) throw new Error(`no response to ${id}`); await new Promise((r) => setTimeout(r, 5)); }
    return got.get(id)!;
  };
  return { s, call };
}

const body = (f: XFrame): string => xPayload(f).toString();

test('x_example through the proxy: routing by service, multiplexing, local replies, heartbeats, Auto detection with HTTP/1', async () => {
  const a = await rpcServer('A');
  const b = await rpcServer('B');
  const silent = await rpcServer('S', true);
  const registries = createBuiltinRegistries();
  registries.xprotocolCodecs.register(XExampleCodec);
  const doc = l7Document({
    clusters: { ca: [`127.0.0.1:${a.port}`], cb: [`127.0.0.1:${b.port}`], cs: [`127.0.0.1:${silent.port}`], down: ['127.0.0.1:1'] },
    virtualHosts: [{ name: 'rpc', domains: ['*'], routers: [
      { match: { headers: [{ name: 'service', value: 'svc.A' }] }, route: { cluster_name: 'ca' } },
      { match: { headers: [{ name: 'service', value: 'svc.B' }] }, route: { cluster_name: 'cb' } },
      { match: { headers: [{ name: 'service', value: 'svc.Slow' }] }, route: { cluster_name: 'cs', timeout: '200ms' } },
      { match: { headers: [{ name: 'service', value: 'svc.Down' }] }, route: { cluster_name: 'down' } },
      { match: { prefix: '/' }, direct_response: { status: 200, body: 'http here' } },
    ] }],
    proxy: { downstream_protocol: 'Auto' },
  });
  const skiff = await startSkiff(doc, process.cwd(), registries);
  try {
    const clients = await Promise.all([rpcClient(skiff.port()), rpcClient(skiff.port())]);
    const calls: Promise<XFrame>[] = [];
    for (const [ci, c] of clients.entries()) {
      for (let i = 1; i <= 50; i++) calls.push(c.call(i, { service: i % 2 === 0 ? 'svc.A' : 'svc.B' }, `c${ci}-${i}`));
    }
    const results = await Promise.all(calls);
    results.forEach((f, k) => {
      const ci = Math.floor(k / 50);
      const i = (k % 50) + 1;
      assert.equal(f.requestId, i, 'the client sees its own id');
      assert.equal(body(f), `${i % 2 === 0 ? 'A' : 'B'}:c${ci}-${i}`);
    });
    assert.equal(a.connections, 1, 'one shared upstream connection per host');
    assert.equal(b.connections, 1);

    const c = clients[0]!;
    const noRoute = await c.call(900, { service: 'svc.Unknown' });
    assert.equal(noRoute.kind, XFrameKind.Response);
    assert.equal(noRoute.status, XLocalStatus.RouterUnavailable);
    const down = await c.call(901, { service: 'svc.Down' });
    assert.equal(down.status, XLocalStatus.NoHealthUpstream);
    const started = Date.now();
    const slow = await c.call(902, { service: 'svc.Slow' });
    assert.equal(slow.status, XLocalStatus.TimeoutException);
    assert.ok(Date.now() - started >= 180, 'the route timeout applied');
    const frameTimeout = await c.call(903, { service: 'svc.Slow', timeout: '50' });
    assert.equal(frameTimeout.status, XLocalStatus.TimeoutException, 'the frame\'s own timeout applies too');
    const hb = await c.call(904, {}, '', XFrameKind.HeartbeatRequest);
    assert.equal(hb.kind, XFrameKind.HeartbeatResponse, 'heartbeats are answered by Skiff');

    const http = await rawRequest(skiff.port(), 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.equal(http.status, 200, 'HTTP/1 on the same port (Auto)');
    assert.equal(http.body.toString(), 'http here');
    for (const x of clients) x.s.destroy();
  } finally {
    await skiff.close();
    await a.close();
    await b.close();
    await silent.close();
  }
});
