// tcp_proxy end to end over real sockets: client ─▶ ActiveListener(tcp_proxy) ─▶ cluster host.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { ConfigError } from '../../src/base/errors.js';
import { TcpProxyFilterFactory } from '../../src/extensions/network-filters/tcp-proxy/factory.js';
import {
  RecordingAccessLog, clusterConfig, connectTo, hostConfig, parseContext, readAll, refusedAddress, sha256,
  startEchoServer, startServer, waitFor, type TestServer,
} from '../fakes/net-fixtures.js';
import { startTcpProxy } from '../fakes/tcp-proxy-harness.js';

/** Upstream that records what it receives and sends `reply` (then FIN) right away. */
async function recordingUpstream(reply: Buffer): Promise<TestServer & { received: Promise<Buffer> }> {
  let resolve!: (b: Buffer) => void;
  const received = new Promise<Buffer>((r) => (resolve = r));
  const srv = await startServer((s) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => resolve(Buffer.concat(chunks)));
    s.end(reply);
  });
  return Object.assign(srv, { received });
}

test('random payloads both ways arrive byte-exact (sha256); access log records the connection', async () => {
  const up = Buffer.from(randomBytes(3 * 1024 * 1024 + 17));
  const down = Buffer.from(randomBytes(5 * 1024 * 1024 + 3));
  const server = await recordingUpstream(down);
  const accessLog = new RecordingAccessLog();
  const proxy = await startTcpProxy({ clusters: [clusterConfig('c1', [hostConfig(server.address)])], tcpProxy: { cluster: 'c1' }, accessLog });
  try {
    const client = await connectTo(proxy.port);
    const got = readAll(client);
    client.end(up);
    const [fromServer, atServer] = await Promise.all([got, server.received]);
    assert.equal(sha256(fromServer.data), sha256(down));
    assert.equal(sha256(atServer), sha256(up));
    await waitFor(() => accessLog.entries.length === 1, 3000, 'access log entry');
    const e = accessLog.entries[0] ?? {};
    assert.equal(e['bytes_received'], String(up.length));
    assert.equal(e['bytes_sent'], String(down.length));
    assert.equal(e['upstream_cluster'], 'c1');
    assert.equal(e['upstream_host'], server.address.text);
    assert.equal(e['listener_name'], 'l1');
    assert.equal(e['response_flag'], '-');
    assert.match(e['downstream_local_address'] ?? '', new RegExp(`^127\\.0\\.0\\.1:${proxy.port}$`));
    assert.match(e['start_time'] ?? '', /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d\.\d{3}$/);
    assert.ok(Number(e['connection_id']) > 0 && Number(e['upstream_connection_id']) > 0);
    await waitFor(() => proxy.listener.connectionCount === 0);
  } finally {
    proxy.close();
    await server.close();
  }
});

test('half-close both directions: each side keeps sending after the other FINs', async () => {
  // Upstream A: waits for the client's FIN, then answers and FINs (client half-closes first).
  const lateReply = await startServer((s) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => s.end(Buffer.concat([Buffer.from('got:'), ...chunks])));
  });
  // Upstream B: FINs at once after a greeting, then keeps reading (upstream half-closes first).
  let bReceived = '';
  let bDone!: () => void;
  const bEnded = new Promise<void>((r) => (bDone = r));
  const earlyFin = await startServer((s) => {
    s.end('bye');
    s.on('data', (c: Buffer) => (bReceived += c.toString()));
    s.on('end', () => bDone());
  });
  const proxyA = await startTcpProxy({ clusters: [clusterConfig('a', [hostConfig(lateReply.address)])], tcpProxy: { cluster: 'a' } });
  const proxyB = await startTcpProxy({ clusters: [clusterConfig('b', [hostConfig(earlyFin.address)])], tcpProxy: { cluster: 'b' } });
  try {
    const c1 = await connectTo(proxyA.port);
    const r1 = readAll(c1);
    c1.end('question');
    assert.equal((await r1).data.toString(), 'got:question');

    const c2 = await connectTo(proxyB.port);
    const greeting = await new Promise<string>((resolve) => {
      let text = '';
      c2.on('data', (c: Buffer) => (text += c.toString()));
      c2.on('end', () => resolve(text));
    });
    assert.equal(greeting, 'bye');
    c2.end('after your FIN'); // our direction is still open through the proxy
    await bEnded;
    assert.equal(bReceived, 'after your FIN');
    await waitFor(() => proxyA.listener.connectionCount === 0 && proxyB.listener.connectionCount === 0, 3000, 'connections closed after both FINs');
  } finally {
    proxyA.close();
    proxyB.close();
    await lateReply.close();
    await earlyFin.close();
  }
});

test('client reset mid-transfer closes the upstream; the next client is served', async () => {
  let upstreamClosed = 0;
  const server = await startServer((s) => {
    s.on('close', () => upstreamClosed++);
    s.pipe(s);
  });
  const proxy = await startTcpProxy({ clusters: [clusterConfig('c', [hostConfig(server.address)])], tcpProxy: { cluster: 'c' } });
  try {
    const c = await connectTo(proxy.port);
    c.on('error', () => {});
    c.write(randomBytes(256 * 1024));
    await new Promise((r) => c.once('data', r));
    c.resetAndDestroy();
    await waitFor(() => upstreamClosed === 1 && proxy.listener.connectionCount === 0, 3000, 'upstream closed after client reset');
    const c2 = await connectTo(proxy.port);
    const r2 = readAll(c2);
    c2.end('second');
    assert.equal((await r2).data.toString(), 'second');
  } finally {
    proxy.close();
    await server.close();
  }
});

test('upstream reset mid-transfer closes the client; the next client is served', async () => {
  let n = 0;
  const server = await startServer((s) => {
    if (n++ === 0) {
      s.write(randomBytes(128 * 1024));
      setTimeout(() => s.resetAndDestroy(), 30);
    } else {
      s.pipe(s);
    }
  });
  const proxy = await startTcpProxy({ clusters: [clusterConfig('c', [hostConfig(server.address)])], tcpProxy: { cluster: 'c' } });
  try {
    const c = await connectTo(proxy.port);
    const r = await readAll(c);
    assert.ok(r.data.length > 0 && r.data.length <= 128 * 1024);
    await waitFor(() => proxy.listener.connectionCount === 0);
    const c2 = await connectTo(proxy.port);
    const r2 = readAll(c2);
    c2.end('still here');
    assert.equal((await r2).data.toString(), 'still here');
  } finally {
    proxy.close();
    await server.close();
  }
});

test('upstream refused: the client is closed (UF); after a cluster update a second client is served', async () => {
  const refused = await refusedAddress();
  const echo = await startEchoServer();
  const accessLog = new RecordingAccessLog();
  const proxy = await startTcpProxy({ clusters: [clusterConfig('c', [hostConfig(refused)])], tcpProxy: { cluster: 'c' }, accessLog });
  try {
    const c = await connectTo(proxy.port);
    c.write('lost');
    const r = await readAll(c);
    assert.equal(r.data.length, 0);
    await waitFor(() => accessLog.entries.length === 1);
    assert.equal(accessLog.entries[0]?.['response_flag'], 'UF');
    assert.equal(proxy.stats.get('upstream', { cluster: 'c' }, 'connection_con_fail'), 1);
    proxy.clusterManager.addOrUpdateCluster(clusterConfig('c', [hostConfig(echo.address)]));
    const c2 = await connectTo(proxy.port);
    const r2 = readAll(c2);
    c2.end('served');
    assert.equal((await r2).data.toString(), 'served');
  } finally {
    proxy.close();
    await echo.close();
  }
});

test('connect retry: 2 refused + 1 good host succeeds; 4 refused hosts → exactly 3 attempts', async () => {
  const r1 = await refusedAddress();
  const r2 = await refusedAddress();
  const r3 = await refusedAddress();
  const r4 = await refusedAddress();
  const echo = await startEchoServer();
  const mixed = clusterConfig('mixed', [hostConfig(r1), hostConfig(r2), hostConfig(echo.address)]);
  const dead = clusterConfig('dead', [hostConfig(r1), hostConfig(r2), hostConfig(r3), hostConfig(r4)], { lbType: 'LB_RANDOM' });
  const accessLog = new RecordingAccessLog();
  const good = await startTcpProxy({ clusters: [mixed], tcpProxy: { cluster: 'mixed' } });
  const bad = await startTcpProxy({ clusters: [dead], tcpProxy: { cluster: 'dead' }, accessLog });
  try {
    // Round-robin starts at a random host: try enough times that the good host is last at least once.
    for (let i = 0; i < 3; i++) {
      const c = await connectTo(good.port);
      const r = readAll(c);
      c.end(`hello ${i}`);
      assert.equal((await r).data.toString(), `hello ${i}`);
    }
    assert.ok((good.stats.get('upstream', { cluster: 'mixed' }, 'connection_con_fail') ?? 0) >= 2, 'some attempts failed and were retried');

    const c = await connectTo(bad.port);
    const r = await readAll(c);
    assert.equal(r.data.length, 0);
    await waitFor(() => accessLog.entries.length === 1);
    assert.equal(bad.stats.get('upstream', { cluster: 'dead' }, 'connection_total'), 3);
    assert.equal(bad.stats.get('upstream', { cluster: 'dead' }, 'connection_con_fail'), 3);
    assert.equal(accessLog.entries[0]?.['response_flag'], 'UF');
  } finally {
    good.close();
    bad.close();
    await echo.close();
  }
});

test('routes: by destination address (CIDR), source address, destination port; no match → closed (NR)', async () => {
  const named = async (name: string) => startServer((s) => s.end(name));
  const [a, b, c] = await Promise.all([named('a'), named('b'), named('c')]);
  const accessLog = new RecordingAccessLog();
  const proxy = await startTcpProxy({
    clusters: [clusterConfig('a', [hostConfig(a.address)]), clusterConfig('b', [hostConfig(b.address)]), clusterConfig('c', [hostConfig(c.address)])],
    tcpProxy: {
      routes: [
        { Cluster: 'never', DestinationPort: '1-2' },
        { cluster: 'b', DestinationAddrs: [{ Address: '127.0.0.2', Length: 32 }] },
        { cluster: 'c', SourceAddrs: [{ address: '127.0.0.3', length: 32 }], SourcePort: '1024-65535' },
        { cluster: 'a', DestinationAddrs: [{ Address: '127.0.0.0', Length: 24 }, { Address: '::1', Length: 128 }], DestinationPort: '1-65535' },
      ],
    },
    listener: { address: { kind: 'tcp', host: '0.0.0.0', port: 0, text: '0.0.0.0:0' } },
    accessLog,
  });
  const ask = (host: string, localAddress?: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const s: Socket = connect({ host, port: proxy.port, allowHalfOpen: true, ...(localAddress ? { localAddress } : {}) });
      s.once('error', reject);
      readAll(s).then((r) => resolve(r.data.toString()), reject);
    });
  try {
    assert.equal(await ask('127.0.0.2'), 'b');
    assert.equal(await ask('127.0.0.1', '127.0.0.3'), 'c');
    assert.equal(await ask('127.0.0.1'), 'a');
    assert.equal(await ask('127.0.1.1'), ''); // outside every route
    await waitFor(() => accessLog.entries.some((e) => e['response_flag'] === 'NR'));
  } finally {
    proxy.close();
    await Promise.all([a.close(), b.close(), c.close()]);
  }
});

test('idle_timeout closes a quiet proxied connection and its upstream', async () => {
  let upstreamClosed = false;
  const server = await startServer((s) => s.on('end', () => (upstreamClosed = true)));
  const proxy = await startTcpProxy({ clusters: [clusterConfig('c', [hostConfig(server.address)])], tcpProxy: { cluster: 'c', idle_timeout: '120ms' } });
  try {
    const started = Date.now();
    const c = await connectTo(proxy.port);
    await readAll(c);
    assert.ok(Date.now() - started >= 100);
    await waitFor(() => upstreamClosed, 2000, 'upstream closed');
  } finally {
    proxy.close();
    await server.close();
  }
});

test('tcp_proxy config: MOSN keys case-insensitively, ns and Go durations, errors with paths', () => {
  const ctx = parseContext('servers[0].listeners[0].filter_chains[0].filters[0].config');
  const c = TcpProxyFilterFactory.parseConfig({ Cluster: 'x', idle_timeout: 90_000_000_000, max_connect_attempts: 5 }, ctx);
  assert.equal(c.cluster, 'x');
  assert.equal(c.idleTimeoutMs, 90_000);
  assert.equal(ctx.notes.length, 1);
  assert.equal(TcpProxyFilterFactory.parseConfig({ cluster: 'x', idle_timeout: '1m30s' }, ctx).idleTimeoutMs, 90_000);
  assert.throws(
    () => TcpProxyFilterFactory.parseConfig({ routes: [{ cluster: 'a', SourceAddrs: [{ Address: '10.0.0.300', Length: 8 }], DestinationPort: '80-70' }] }, ctx),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.deepEqual(e.issues.map((i) => i.path), [
        'servers[0].listeners[0].filter_chains[0].filters[0].config.routes[0].SourceAddrs[0].Address',
        'servers[0].listeners[0].filter_chains[0].filters[0].config.routes[0].DestinationPort',
      ]);
      return true;
    },
  );
  assert.throws(() => TcpProxyFilterFactory.parseConfig({}, ctx), /needs "cluster" or at least one entry in "routes"/);
});
