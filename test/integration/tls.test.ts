// TLS and mTLS over real sockets (issue 6), with a CA and certificates generated at test time
// (test/fakes/test-pki.ts): listener TLS with safe defaults, SNI certificate choice, the inspector,
// cluster TLS (verification, SAN match, tls_disable, client certificates), mTLS with the peer identity
// in access logs, rotation without restart, ALPN, session resumption across processes, and every
// handshake error refused, logged, counted — with everyone else still served.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import tlsModule from 'node:tls';
import { createTestPki, SPIFFE_CLIENT, type TestPki } from '../fakes/test-pki.js';
import { l7Document, startSkiff, type SkiffInProcess } from '../fakes/l7-harness.js';
import { startOrigin, tlsGet, type Origin } from '../fakes/tls-peers.js';
import { rawRequest } from '../fakes/scripted-origin.js';

let pki: TestPki;
let plain: Origin;
before(async () => {
  pki = await createTestPki();
  plain = await startOrigin('plain');
});
after(async () => {
  await plain.close();
  await pki.cleanup();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A one-listener HTTP proxy doc whose filter chain carries `tls` (tls_context or tls_context_set). */
function tlsDoc(tls: Record<string, unknown>, o: { clusters?: Record<string, string[]>; cluster?: Record<string, unknown>; listener?: Record<string, unknown>; clusterTls?: Record<string, unknown> } = {}) {
  const doc = l7Document({ clusters: o.clusters ?? { origin: [`127.0.0.1:${plain.port}`] }, ...(o.cluster ? { cluster: o.cluster } : {}) });
  const servers = doc['servers'] as Record<string, unknown>[];
  const listener = (servers[0]!['listeners'] as Record<string, unknown>[])[0]!;
  const chain = (listener['filter_chains'] as Record<string, unknown>[])[0]!;
  Object.assign(chain, tls);
  Object.assign(listener, o.listener ?? {});
  if (o.clusterTls !== undefined) {
    for (const c of (doc['cluster_manager'] as { clusters: Record<string, unknown>[] }).clusters) c['tls_context'] = o.clusterTls;
  }
  return doc;
}

const serverCtx = (cert = () => pki.server, extra: Record<string, unknown> = {}) => ({
  status: true, cert_chain: cert().certPath, private_key: cert().keyPath, ...extra,
});
const trustA = () => ({ ca: pki.caA.certPem, servername: 'localhost' });
const stat = (skiff: SkiffInProcess, key: string): number => skiff.server.stats.get('downstream', { listener: 'proxy' }, key) ?? 0;

test('listener TLS: HTTPS proxied to a plain origin; TLS 1.2 minimum, AEAD-only suites, renegotiation refused, handshake timeout', async () => {
  const skiff = await startSkiff(tlsDoc({ tls_context: serverCtx() }, { listener: { tls_handshake_timeout: '400ms' } }));
  try {
    const port = skiff.port();
    const ok = await tlsGet(port, trustA());
    assert.equal(ok.status, 200, ok.error);
    assert.equal(ok.body, 'plain');
    assert.equal(ok.protocol, 'TLSv1.3');
    const tls12 = await tlsGet(port, { ...trustA(), maxVersion: 'TLSv1.2' });
    assert.equal(tls12.status, 200, 'TLS 1.2 works');
    const tls11 = await tlsGet(port, { ...trustA(), minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' });
    assert.equal(tls11.status, 0, 'TLS 1.1 refused by default');
    for (const weak of ['AES128-SHA', 'ECDHE-RSA-AES128-SHA256', 'ECDHE-ECDSA-AES128-SHA', 'DHE-RSA-AES128-GCM-SHA256']) {
      const r = await tlsGet(port, { ...trustA(), maxVersion: 'TLSv1.2', ciphers: weak });
      assert.equal(r.status, 0, `${weak} (no PFS / CBC / DHE) refused`);
    }
    // Renegotiation: the client asks, the connection is refused.
    const reneg = await new Promise<string>((resolve) => {
      const s = tlsModule.connect({ port, host: '127.0.0.1', ...trustA(), maxVersion: 'TLSv1.2' }, () => {
        s.renegotiate({}, (err) => resolve(err ? 'refused' : 'renegotiated'));
      });
      s.on('error', () => resolve('refused'));
      s.on('close', () => resolve('refused'));
    });
    assert.equal(reneg, 'refused');
    // A client that sends 5 bytes of a ClientHello and stalls is closed at the handshake timeout.
    const t0 = Date.now();
    const stalled = await new Promise<number>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => s.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00])));
      s.on('error', () => undefined);
      s.on('close', () => resolve(Date.now() - t0));
    });
    assert.ok(stalled >= 300 && stalled < 3000, `closed after ${stalled} ms`);
    // Plaintext to a TLS-only port: refused and counted; the process keeps serving.
    const before = stat(skiff, 'tls_handshake_error');
    await new Promise<void>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      s.on('error', () => undefined);
      s.on('close', () => resolve());
    });
    assert.ok(stat(skiff, 'tls_handshake_error') > before, 'handshake errors are counted');
    assert.equal((await tlsGet(port, trustA())).status, 200, 'still serving');
    assert.ok(stat(skiff, 'tls_handshake_total') >= 3);
  } finally {
    await skiff.close();
  }
});


test('tls_context_set: certificate chosen by SNI (exact, wildcard, default); ALPN http/1.1; an explicit TLS 1.1 minimum is honoured', async () => {
  const skiff = await startSkiff(tlsDoc({ tls_context_set: [serverCtx(() => pki.server, { alpn: 'h2,http/1.1' }), serverCtx(() => pki.serverB)] }));
  try {
    const port = skiff.port();
    const a = await tlsGet(port, { ca: pki.caA.certPem, servername: 'localhost' });
    const b = await tlsGet(port, { ca: pki.caA.certPem, servername: 'other.test', hostHeader: 'other.test' });
    const wild = await tlsGet(port, { ca: pki.caA.certPem, servername: 'api.skiff.test' });
    const unknown = await tlsGet(port, { ca: pki.caA.certPem, servername: 'nobody.example', rejectUnauthorized: false });
    assert.equal(a.serial, pki.server.serial);
    assert.equal(b.serial, pki.serverB.serial, 'SNI other.test → serverB');
    assert.equal(wild.serial, pki.server.serial, '*.skiff.test');
    assert.equal(unknown.serial, pki.server.serial, 'unknown SNI → the first (default) certificate');
    for (const r of [a, b, wild]) assert.equal(r.status, 200, r.error);
    const alpn = await tlsGet(port, { ...trustA(), ALPNProtocols: ['h2', 'http/1.1'] });
    assert.equal(alpn.alpn, 'http/1.1', 'h2 is not offered until HTTP/2 is served; http/1.1 negotiated');
  } finally {
    await skiff.close();
  }
  const old = await startSkiff(tlsDoc({ tls_context: serverCtx(() => pki.server, { min_version: 'TLSv1_1' }) }));
  try {
    const r = await tlsGet(old.port(), { ...trustA(), minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' });
    assert.equal(r.status, 200, `explicit min_version TLSv1_1 honoured (${r.error})`);
    assert.equal(r.protocol, 'TLSv1.1');
  } finally {
    await old.close();
  }
});

test('inspector: TLS and plaintext clients on one port', async () => {
  const skiff = await startSkiff(tlsDoc({ tls_context: serverCtx() }, { listener: { inspector: true } }));
  try {
    const port = skiff.port();
    assert.equal((await tlsGet(port, trustA())).status, 200);
    const text = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(text.status, 200);
    assert.equal(text.body.toString(), 'plain');
    assert.equal(stat(skiff, 'tls_inspector_plaintext'), 1);
  } finally {
    await skiff.close();
  }
});

test('mTLS: verified client identity in the access log; missing, untrusted and expired client certificates refused, logged, counted', async () => {
  const dir = pki.dir;
  const logPath = join(dir, 'mtls-access.log');
  const skiff = await startSkiff(tlsDoc({ tls_context: serverCtx(() => pki.server, { ca_cert: pki.caA.certPath, verify_client: true, require_client_cert: true }) }, {
    listener: { access_logs: [{ log_path: logPath, log_format: '%response_code% %downstream_peer_uri_san% %downstream_peer_subject% %downstream_tls_version% %downstream_peer_cert_verified%' }] },
  }));
  try {
    const port = skiff.port();
    const good = await tlsGet(port, { ...trustA(), cert: pki.client.chainPem, key: pki.client.keyPem });
    assert.equal(good.status, 200, good.error);
    const errorsBefore = stat(skiff, 'tls_handshake_error');
    const hitsBefore = plain.hits;
    for (const [what, opts] of [
      ['no certificate', {}],
      ['caB certificate', { cert: pki.clientB.chainPem, key: pki.clientB.keyPem }],
      ['expired certificate', { cert: pki.expiredClient.chainPem, key: pki.expiredClient.keyPem }],
    ] as const) {
      const r = await tlsGet(port, { ...trustA(), ...opts });
      assert.equal(r.status, 0, `${what}: refused`);
    }
    assert.equal(plain.hits, hitsBefore, 'nothing reached the upstream');
    assert.equal(stat(skiff, 'tls_handshake_error') - errorsBefore, 3, 'each refusal counted');
    assert.equal((await tlsGet(port, { ...trustA(), cert: pki.client.chainPem, key: pki.client.keyPem })).status, 200, 'others still served');
    await sleep(100);
    const line = readFileSync(logPath, 'utf8').split('\n')[0]!;
    assert.ok(line.startsWith(`200 ${SPIFFE_CLIENT} `), line);
    assert.match(line, /CN=client/);
    assert.match(line, /TLSv1\.3 true$/);
  } finally {
    await skiff.close();
  }
});

test('cluster TLS: verified upstream, SAN match, no plaintext fallback on failure, tls_disable, client certificate (upstream mTLS)', async () => {
  const secure = await startOrigin('secure', { cert: pki.server.chainPem, key: pki.server.keyPem });
  const mtls = await startOrigin('mtls', { cert: pki.server.chainPem, key: pki.server.keyPem, ca: pki.caA.certPem, requestCert: true, rejectUnauthorized: true });
  const expired = await startOrigin('expired', { cert: pki.expired.chainPem, key: pki.expired.keyPem });
  const future = await startOrigin('future', { cert: pki.notYetValid.chainPem, key: pki.notYetValid.keyPem });
  const vh = [{ name: 'all', domains: ['*'], routers: [
    { match: { prefix: '/secure' }, route: { cluster_name: 'secure' } },
    { match: { prefix: '/wrongca' }, route: { cluster_name: 'wrongca' } },
    { match: { prefix: '/san' }, route: { cluster_name: 'san' } },
    { match: { prefix: '/badsan' }, route: { cluster_name: 'badsan' } },
    { match: { prefix: '/mixed' }, route: { cluster_name: 'mixed' } },
    { match: { prefix: '/mtls' }, route: { cluster_name: 'mtls' } },
    { match: { prefix: '/expired' }, route: { cluster_name: 'expired' } },
    { match: { prefix: '/future' }, route: { cluster_name: 'future' } },
  ] }];
  const doc = l7Document({ clusters: {}, virtualHosts: vh });
  const ca = (p: string) => ({ status: true, ca_cert: p, server_name: 'localhost' });
  (doc['cluster_manager'] as { clusters: unknown[] }).clusters = [
    { name: 'secure', hosts: [{ address: `127.0.0.1:${secure.port}` }], tls_context: ca(pki.caA.certPath) },
    { name: 'wrongca', hosts: [{ address: `127.0.0.1:${secure.port}` }], tls_context: ca(pki.caB.certPath) },
    { name: 'san', hosts: [{ address: `127.0.0.1:${secure.port}` }], tls_context: { ...ca(pki.caA.certPath), server_name: 'x.skiff.test', type: 'sni_verify', extend_verify: { match_subject_alt_names: ['skiff.test'] } } },
    { name: 'badsan', hosts: [{ address: `127.0.0.1:${secure.port}` }], tls_context: { ...ca(pki.caA.certPath), extend_verify: { match_subject_alt_names: ['payments.internal'] } } },
    { name: 'mixed', hosts: [{ address: `127.0.0.1:${plain.port}`, tls_disable: true }], tls_context: ca(pki.caA.certPath) },
    { name: 'mtls', hosts: [{ address: `127.0.0.1:${mtls.port}` }], tls_context: { ...ca(pki.caA.certPath), cert_chain: pki.client.chainPem, private_key: pki.client.keyPem } },
    { name: 'expired', hosts: [{ address: `127.0.0.1:${expired.port}` }], tls_context: ca(pki.caA.certPath) },
    { name: 'future', hosts: [{ address: `127.0.0.1:${future.port}` }], tls_context: ca(pki.caA.certPath) },
  ];
  const skiff = await startSkiff(doc);
  try {
    const get = async (path: string): Promise<{ status: number; body: string }> => {
      const r = await rawRequest(skiff.port(), `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      return { status: r.status, body: r.body.toString() };
    };
    assert.deepEqual(await get('/secure'), { status: 200, body: 'secure' });
    const hits = secure.hits;
    assert.equal((await get('/wrongca')).status, 503, 'an untrusted server → 503');
    assert.deepEqual(await get('/san'), { status: 200, body: 'secure' }, 'SAN in match_subject_alt_names');
    assert.equal((await get('/badsan')).status, 503, 'SAN not in match_subject_alt_names → 503');
    assert.equal((await get('/expired')).status, 503, 'an expired server certificate → 503');
    assert.equal((await get('/future')).status, 503, 'a not-yet-valid server certificate → 503');
    assert.equal(expired.hits + future.hits, 0);
    assert.equal(secure.hits, hits + 1, 'failed verifications never sent a request (no plaintext fallback)');
    assert.deepEqual(await get('/mixed'), { status: 200, body: 'plain' }, 'tls_disable host: plaintext');
    assert.deepEqual(await get('/mtls'), { status: 200, body: 'mtls|peer=client' }, 'client certificate presented upstream');
  } finally {
    await skiff.close();
    await secure.close();
    await mtls.close();
    await expired.close();
    await future.close();
  }
});

test('fall_back: a listener whose certificate cannot be loaded serves plaintext instead of failing; without it, start fails naming the listener', async () => {
  const missing = { status: true, cert_chain: join(pki.dir, 'absent.crt'), private_key: join(pki.dir, 'absent.key') };
  await assert.rejects(startSkiff(tlsDoc({ tls_context: missing })), /listener "proxy": tls_context: .*absent\.(crt|key)/);
  const skiff = await startSkiff(tlsDoc({ tls_context: { ...missing, fall_back: true } }));
  try {
    const text = await rawRequest(skiff.port(), 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(text.status, 200);
  } finally {
    await skiff.close();
  }
});

test('rotation: new handshakes get a new certificate within seconds, live connections untouched, a broken file keeps the old one', async () => {
  const certPath = join(pki.dir, 'rotating.crt');
  const keyPath = join(pki.dir, 'rotating.key');
  copyFileSync(pki.server.chainPath, certPath);
  copyFileSync(pki.server.keyPath, keyPath);
  const skiff = await startSkiff(tlsDoc({ tls_context: { status: true, cert_chain: certPath, private_key: keyPath } }));
  try {
    const port = skiff.port();
    assert.equal((await tlsGet(port, trustA())).serial, pki.server.serial);
    // A keep-alive connection opened before the rotation.
    const live = tlsModule.connect({ port, host: '127.0.0.1', ...trustA() });
    await new Promise((r) => live.once('secureConnect', r));
    const next = await pki.issueServer('localhost', ['localhost', '127.0.0.1']);
    writeFileSync(certPath, next.chainPem);
    writeFileSync(keyPath, next.keyPem);
    let serial = '';
    for (let i = 0; i < 50 && serial !== next.serial; i++) { await sleep(100); serial = (await tlsGet(port, trustA())).serial; }
    assert.equal(serial, next.serial, 'new handshakes present the new certificate');
    const liveReply = await new Promise<string>((resolve) => {
      let got = '';
      live.on('data', (d) => { got += d.toString(); if (got.includes('plain')) resolve(got); });
      live.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    });
    assert.match(liveReply, /^HTTP\/1\.1 200/, 'the connection opened before the rotation still works');
    live.destroy();
    // A broken certificate file: rejected with a log line; the last good certificate keeps serving.
    writeFileSync(certPath, 'not a certificate');
    await sleep(1800);
    const after = await tlsGet(port, trustA());
    assert.equal(after.status, 200);
    assert.equal(after.serial, next.serial);
  } finally {
    await skiff.close();
  }
});

test('session resumption: a ticket from one Skiff process (or worker) resumes on another with the same key', async () => {
  const a = await startSkiff(tlsDoc({ tls_context: serverCtx() }));
  const b = await startSkiff(tlsDoc({ tls_context: serverCtx() }));
  try {
    const first = await tlsGet(a.port(), { ...trustA(), maxVersion: 'TLSv1.2' });
    assert.ok(first.session !== undefined, 'a session ticket was issued');
    const again = await tlsGet(a.port(), { ...trustA(), maxVersion: 'TLSv1.2', session: first.session! });
    assert.equal(again.resumed, true, 'resumed on the same process');
    const other = await tlsGet(b.port(), { ...trustA(), maxVersion: 'TLSv1.2', session: first.session! });
    assert.equal(other.resumed, true, 'resumed on another process: ticket keys derive from the shared private key');
    assert.equal(other.status, 200);
  } finally {
    await a.close();
    await b.close();
  }
});

test('h2 over TLS: ALPN h2 picks HTTP/2 on a listener serving Http1 and Http2; upstream HTTP/2 over the cluster TLS (ALPN h2)', async () => {
  const http2 = await import('node:http2');
  const h2origin = http2.createSecureServer({ cert: pki.server.chainPem, key: pki.server.keyPem });
  h2origin.on('stream', (st, h) => { st.respond({ ':status': 200 }); st.end(`h2origin ${String(h[':path'])} ${st.session?.alpnProtocol ?? ''}`); });
  h2origin.on('session', (sess) => { sessions.push(sess); });
  const sessions: import('node:http2').ServerHttp2Session[] = [];
  await new Promise<void>((r) => h2origin.listen(0, '127.0.0.1', r));
  const doc = tlsDoc({ tls_context: serverCtx(() => pki.server, { alpn: 'h2,http/1.1' }) }, {
    clusters: { origin: [`127.0.0.1:${plain.port}`], h2o: [`127.0.0.1:${(h2origin.address() as net.AddressInfo).port}`] },
  });
  const servers = doc['servers'] as Record<string, unknown>[];
  const listener = (servers[0]!['listeners'] as Record<string, unknown>[])[0]!;
  const proxy = ((listener['filter_chains'] as Record<string, unknown>[])[0]!['filters'] as { config: Record<string, unknown> }[])[0]!;
  proxy.config['downstream_protocol'] = 'Http1,Http2';
  (servers[0]!['routers'] as { virtual_hosts: unknown[] }[])[0]!.virtual_hosts = [{ name: 'a', domains: ['*'], routers: [
    { match: { prefix: '/h2' }, route: { cluster_name: 'h2o', upstream_protocol: 'Http2' } },
    { match: { prefix: '/' }, route: { cluster_name: 'origin', upstream_protocol: 'Http1' } },
  ] }];
  const clusters = (doc['cluster_manager'] as { clusters: Record<string, unknown>[] }).clusters;
  clusters[1]!['tls_context'] = { status: true, ca_cert: pki.caA.certPath, server_name: 'localhost', alpn: 'h2' };
  const skiff = await startSkiff(doc);
  const client = http2.connect(`https://localhost:${skiff.port()}`, { ca: pki.caA.certPem });
  try {
    const get = (path: string): Promise<string> => new Promise((resolve) => {
      const r = client.request({ ':path': path });
      let b = '';
      r.on('data', (d: Buffer) => { b += d.toString(); });
      r.on('end', () => resolve(b));
      r.on('error', (e) => resolve(`ERR ${e.message}`));
    });
    assert.equal(await get('/plain'), 'plain', 'h2 downstream (ALPN h2) → HTTP/1.1 upstream');
    assert.equal(client.alpnProtocol, 'h2');
    assert.equal(await get('/h2'), 'h2origin /h2 h2', 'h2 downstream → h2 upstream over TLS (ALPN h2)');
    assert.equal((await tlsGet(skiff.port(), { ...trustA(), ALPNProtocols: ['http/1.1'] })).status, 200, 'HTTP/1.1 clients on the same TLS port');
  } finally {
    client.close();
    await skiff.close();
    for (const s of sessions) s.destroy();
    await new Promise<void>((r) => h2origin.close(() => r()));
  }
});

test('cipher_suites, max_version and ecdh_curves are honoured', async () => {
  const skiff = await startSkiff(tlsDoc({ tls_context: serverCtx(() => pki.server, { cipher_suites: 'ECDHE-ECDSA-AES256-GCM-SHA384', max_version: 'TLSv1_2', ecdh_curves: 'p384' }) }));
  try {
    const port = skiff.port();
    const info = await new Promise<{ protocol: string; cipher: string; curve: string }>((resolve, reject) => {
      const s = tlsModule.connect({ port, host: '127.0.0.1', ...trustA() }, () => {
        const key = s.getEphemeralKeyInfo() as { name?: string } | null;
        resolve({ protocol: s.getProtocol() ?? '', cipher: s.getCipher().name, curve: key?.name ?? '' });
        s.destroy();
      });
      s.on('error', reject);
    });
    assert.deepEqual(info, { protocol: 'TLSv1.2', cipher: 'ECDHE-ECDSA-AES256-GCM-SHA384', curve: 'secp384r1' });
    const other = await tlsGet(port, { ...trustA(), maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' });
    assert.equal(other.status, 0, 'a suite outside cipher_suites is refused');
  } finally {
    await skiff.close();
  }
});
