// The XProtocol stream layer over real sockets (issue 4 groundwork), driven by the example codec
// `x_example`: a miniature RPC proxy wires XServerConnection (downstream) to one XClientConnection
// (upstream) by hand. Checked: many requests multiplexed on one upstream connection and answered out
// of order, request ids rewritten upstream and restored downstream, heartbeats answered locally and
// never forwarded, malformed input closing only its own connection, an upstream close resetting every
// pending request (answered with a local reply), GoAway stopping new requests on a connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { XFrameKind, XLocalStatus, type XFrame } from '../../src/api/xprotocol.js';
import { encodeXExample, XExampleCodec } from '../../src/extensions/codecs/x-example/x-example.js';
import { ActiveListener } from '../../src/network/listener/active-listener.js';
import { StatsStore } from '../../src/observability/stats.js';
import { createBuiltinRegistries } from '../../src/registry/registries.js';
import { XClientConnection } from '../../src/stream/xprotocol/x-client-connection.js';
import { XServerConnection } from '../../src/stream/xprotocol/x-server-connection.js';
import { ClusterManagerImpl } from '../../src/upstream/cluster-manager.js';
import { onXExampleFrames, xPayload } from '../fakes/x-example-peer.js';
import { RecordingLogger } from '../fakes/logger.js';
import { clusterConfig, hostConfig, listenerConfig, tcp } from '../fakes/net-fixtures.js';

const LIMITS = { maxFrameBytes: 1024 * 1024 };

/** An upstream RPC server: answers each request after a random delay (out of order), echoing payload + "!". */
async function rpcServer(opts: { goAwayAfter?: number; answerHeartbeats?: boolean } = {}): Promise<{ port: number; seenIds: number[]; heartbeatsSeen: number; sockets: net.Socket[]; close(): Promise<void> }> {
  const state = { port: 0, seenIds: [] as number[], heartbeatsSeen: 0, sockets: [] as net.Socket[], close: async () => undefined as void };
  const server = net.createServer((s) => {
    state.sockets.push(s);
    s.on('error', () => undefined);
    onXExampleFrames(s, (f) => {
      if (f.kind === XFrameKind.HeartbeatRequest) {
        state.heartbeatsSeen++;
        if (opts.answerHeartbeats === true) s.write(XExampleCodec.encodeHeartbeatResponse(f));
        return;
      }
      state.seenIds.push(f.requestId);
      if (opts.goAwayAfter !== undefined && state.seenIds.length === opts.goAwayAfter) s.write(XExampleCodec.encodeGoAway!());
      if (f.kind === XFrameKind.Oneway) return;
      const payload = Buffer.concat([xPayload(f), Buffer.from('!')]);
      setTimeout(() => s.write(encodeXExample({ kind: XFrameKind.Response, requestId: f.requestId, payload })), Math.floor(Math.random() * 20));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.port = (server.address() as net.AddressInfo).port;
  state.close = async () => { for (const s of state.sockets) s.destroy(); await new Promise<void>((r) => server.close(() => r())); };
  return state;
}

/** A miniature RPC proxy: every downstream request goes over ONE shared upstream XClientConnection. */
async function miniProxy(upstreamPort: number) {
  const stats = new StatsStore();
  const logger = new RecordingLogger();
  const cm = new ClusterManagerImpl({ registries: createBuiltinRegistries(), stats, logger });
  cm.addOrUpdateCluster(clusterConfig('rpc', [hostConfig(tcp('127.0.0.1', upstreamPort))]));
  const host = cm.snapshot('rpc')!.hostSet.hosts[0]!;
  let upstream: XClientConnection | undefined;
  const upstreamConn = (): XClientConnection => {
    if (upstream === undefined || upstream.unusable) upstream = new XClientConnection(cm.connect(host, { connectTimeoutMs: 1000 }), XExampleCodec, LIMITS);
    return upstream;
  };
  const owner = {
    onRequest(ds: XServerConnection, frame: XFrame): void {
      const downstreamId = frame.requestId;
      const handler = frame.kind === XFrameKind.Oneway ? undefined : {
        onResponse(resp: XFrame): void {
          XExampleCodec.setRequestId(resp.bytes, downstreamId); // restore the client's id
          ds.sendResponse(resp.bytes);
        },
        onReset(reason: string): void {
          ds.sendResponse(XExampleCodec.encodeLocalReply({ ...frame, requestId: downstreamId }, XLocalStatus.NoHealthUpstream, `upstream reset: ${reason}`));
        },
      };
      upstreamConn().request(frame, handler);
    },
  };
  const listener = new ActiveListener(listenerConfig(), {
    filterCreators: [(c) => c.addReadFilter(new XServerConnection(c, XExampleCodec, { limits: LIMITS, goAwayOnDrain: false }, owner))],
    listenerFilters: [],
    stats,
    logger,
  });
  await listener.listen();
  const b = listener.boundAddress;
  return { port: b.kind === 'tcp' ? b.port : 0, upstreams: () => upstream, close: () => { listener.closeAll(); cm.close(); } };
}

/** A client: sends frames, collects decoded response frames by id. */
async function client(port: number) {
  const s = net.connect(port, '127.0.0.1');
  await new Promise((r) => s.once('connect', r));
  const responses = new Map<number, XFrame>();
  let closed = false;
  s.on('close', () => { closed = true; });
  s.on('error', () => undefined);
  onXExampleFrames(s, (f) => {
    responses.set(f.requestId, f);
  });
  const waitFor = async (cond: () => boolean, what: string): Promise<void> => {
    const until = Date.now() + 3000;
    while (!cond()) { if (Date.now() > until) throw new Error(`timed out: ${what}`); await new Promise((r) => setTimeout(r, 10)); }
  };
  return { s, responses, waitFor, get closed() { return closed; } };
}

const payloadOf = (f: XFrame): string => xPayload(f).toString();

test('XProtocol: 500 requests from 5 clients multiplexed on one upstream connection, answered out of order, ids restored; heartbeats answered locally', async () => {
  const up = await rpcServer();
  const proxy = await miniProxy(up.port);
  try {
    const clients = await Promise.all(Array.from({ length: 5 }, () => client(proxy.port)));
    clients.forEach((c, ci) => {
      for (let i = 1; i <= 100; i++) c.s.write(encodeXExample({ kind: XFrameKind.Request, requestId: i, headers: { service: 'svc' }, payload: Buffer.from(`c${ci}-r${i}`) }));
      c.s.write(encodeXExample({ kind: XFrameKind.HeartbeatRequest, requestId: 7777 }));
    });
    for (const [ci, c] of clients.entries()) {
      await c.waitFor(() => c.responses.size === 101, `client ${ci}: 100 responses + 1 heartbeat response`);
      for (let i = 1; i <= 100; i++) assert.equal(payloadOf(c.responses.get(i)!), `c${ci}-r${i}!`, 'each id got its own answer');
      assert.equal(c.responses.get(7777)?.kind, XFrameKind.HeartbeatResponse);
      c.s.destroy();
    }
    assert.equal(up.sockets.length, 1, 'one upstream connection carried all 500');
    assert.equal(new Set(up.seenIds).size, 500, 'upstream ids are unique on the shared connection');
    assert.equal(up.heartbeatsSeen, 0, 'client heartbeats never reach the upstream');
  } finally {
    proxy.close();
    await up.close();
  }
});

test('XProtocol: malformed input closes only its own connection; an upstream close resets every pending request with a local reply', async () => {
  const up = await rpcServer();
  const proxy = await miniProxy(up.port);
  try {
    const good = await client(proxy.port);
    const bad = await client(proxy.port);
    bad.s.write(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    await bad.waitFor(() => bad.closed, 'the bad client is closed');
    good.s.write(encodeXExample({ kind: XFrameKind.Request, requestId: 1, payload: Buffer.from('still-served') }));
    await good.waitFor(() => good.responses.size === 1, 'the good client is still served');
    assert.equal(payloadOf(good.responses.get(1)!), 'still-served!');
    // oversize frame (declared length over the limit) is refused before its body arrives
    const big = await client(proxy.port);
    const head = encodeXExample({ kind: XFrameKind.Request, requestId: 1 });
    head.writeUInt32BE(64 * 1024 * 1024, 10);
    big.s.write(head);
    await big.waitFor(() => big.closed, 'the oversize frame closes its connection');

    // the upstream dies with requests pending: each gets a local reply, none hangs
    const silent = await rpcServer();
    const proxy2 = await miniProxy(silent.port);
    const c = await client(proxy2.port);
    const before = silent.seenIds.length;
    for (let i = 1; i <= 3; i++) c.s.write(encodeXExample({ kind: XFrameKind.Oneway, requestId: 100 + i }));
    await c.waitFor(() => silent.seenIds.length === before + 3, 'oneways reached the upstream');
    assert.equal(c.responses.size, 0, 'no response to oneways');
    proxy2.close();
    await silent.close();
    c.s.destroy();
  } finally {
    proxy.close();
    await up.close();
  }
});

test('XProtocol: pending requests are answered with a local reply when the upstream connection closes; GoAway stops new requests on it', async () => {
  // An upstream that never answers and closes after 3 requests.
  const sockets: net.Socket[] = [];
  let seen = 0;
  const server = net.createServer((s) => {
    sockets.push(s);
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => { seen += d.length > 0 ? 1 : 0; if (seen >= 1) setTimeout(() => s.destroy(), 50); });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const proxy = await miniProxy((server.address() as net.AddressInfo).port);
  try {
    const c = await client(proxy.port);
    for (let i = 1; i <= 3; i++) c.s.write(encodeXExample({ kind: XFrameKind.Request, requestId: i }));
    await c.waitFor(() => c.responses.size === 3, 'three local replies');
    for (let i = 1; i <= 3; i++) {
      const r = c.responses.get(i)!;
      assert.equal(r.kind, XFrameKind.Response);
      assert.equal(r.status, XLocalStatus.NoHealthUpstream);
      assert.match(payloadOf(r), /upstream reset/);
    }
    c.s.destroy();
  } finally {
    proxy.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }

  const up = await rpcServer({ goAwayAfter: 1 });
  const proxy3 = await miniProxy(up.port);
  try {
    const c = await client(proxy3.port);
    c.s.write(encodeXExample({ kind: XFrameKind.Request, requestId: 1, payload: Buffer.from('a') }));
    await c.waitFor(() => c.responses.size === 1, 'the request before GoAway is still answered');
    const first = proxy3.upstreams();
    await c.waitFor(() => first?.unusable === true, 'GoAway marks the connection unusable');
    c.s.write(encodeXExample({ kind: XFrameKind.Request, requestId: 2, payload: Buffer.from('b') }));
    await c.waitFor(() => c.responses.size === 2, 'the next request goes out on a new connection');
    assert.equal(payloadOf(c.responses.get(2)!), 'b!');
    assert.equal(up.sockets.length, 2);
    c.s.destroy();
  } finally {
    proxy3.close();
    await up.close();
  }
});

test('XProtocol keepalive on a real idle upstream connection: answered heartbeats keep it (period backing off); unanswered ones close it', async () => {
  const stats = new StatsStore();
  const logger = new RecordingLogger();
  const cm = new ClusterManagerImpl({ registries: createBuiltinRegistries(), stats, logger });
  const fast = { intervalMs: 100, timeoutMs: 100, maxFailures: 2, backoff: true, stepMs: 100, maxIntervalMs: 300, idleFreeMs: 0 };
  const alive = await rpcServer({ answerHeartbeats: true });
  const dead = await rpcServer();
  try {
    cm.addOrUpdateCluster(clusterConfig('alive', [hostConfig(tcp('127.0.0.1', alive.port))]));
    cm.addOrUpdateCluster(clusterConfig('dead', [hostConfig(tcp('127.0.0.1', dead.port))]));
    const a = new XClientConnection(cm.connect(cm.snapshot('alive')!.hostSet.hosts[0]!, { connectTimeoutMs: 1000 }), XExampleCodec, LIMITS, fast);
    const d = new XClientConnection(cm.connect(cm.snapshot('dead')!.hostSet.hosts[0]!, { connectTimeoutMs: 1000 }), XExampleCodec, LIMITS, fast);
    await new Promise((r) => setTimeout(r, 1300));
    assert.equal(a.connection.closed, false, 'answered heartbeats keep the connection');
    assert.ok(a.keepAlive!.answered >= 3, `answered ${a.keepAlive!.answered}`);
    assert.equal(a.keepAlive!.periodMs, 300, 'backed off to the maximum');
    assert.equal(d.connection.closed, true, 'two unanswered heartbeats close the connection');
    assert.equal(d.connection.closeReason, 'heartbeat_failed');
    assert.equal(dead.heartbeatsSeen, 2);
    a.connection.close('now');
  } finally {
    cm.close();
    await alive.close();
    await dead.close();
  }
});
