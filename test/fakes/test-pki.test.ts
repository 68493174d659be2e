/**
 * Tests for the test PKI fake (issue 6): every certificate is checked the way Skiff will use it —
 * by Node's own `tls` module over real sockets on 127.0.0.1 port 0 — plus structural checks with
 * `X509Certificate` and the serial as the `openssl` CLI prints it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { createTestPki, SPIFFE_CLIENT, SPIFFE_EVIL, type TestCert, type TestPki } from './test-pki.js';

interface Outcome {
  /** Client side: the error code if the client failed (verification or alert), else undefined. */
  readonly clientError: string | undefined;
  /** Client side: true once `secureConnect` fired and the server's "ok" arrived. */
  readonly clientGotData: boolean;
  /** Server side: set when a secure connection was established. */
  readonly server: { readonly authorized: boolean; readonly authorizationError: string | undefined;
    readonly peer: tls.PeerCertificate } | undefined;
  /** Server side: `tlsClientError` code, if the handshake failed there. */
  readonly serverError: string | undefined;
}

/**
 * One TLS server + one client on 127.0.0.1:0. Resolves when both ends of the TCP connection have
 * closed, so every server-side event has been seen (no timers).
 */
async function handshake(serverOpts: tls.TlsOptions, clientOpts: tls.ConnectionOptions): Promise<Outcome> {
  let server: Outcome['server'];
  let serverError: string | undefined;
  let clientError: string | undefined;
  let clientGotData = false;
  let serverSocketClosed: Promise<unknown> | undefined;
  const srv = tls.createServer(serverOpts, (s) => {
    server = { authorized: s.authorized, authorizationError: errorCode(s.authorizationError), peer: s.getPeerCertificate() };
    s.on('error', () => {});
    s.end('ok');
  });
  // Not events.once: it rejects on 'error', and socket errors are expected outcomes here.
  srv.on('connection', (raw) => { serverSocketClosed = new Promise((resolve) => raw.on('close', resolve)); });
  srv.on('tlsClientError', (err: NodeJS.ErrnoException) => { serverError = err.code ?? err.message; });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as AddressInfo;
  try {
    const c = tls.connect({ host: '127.0.0.1', port, ...clientOpts });
    c.on('error', (err: NodeJS.ErrnoException) => { clientError ??= err.code ?? err.message; });
    c.on('data', (d: Buffer) => { if (d.toString() === 'ok') clientGotData = true; });
    await new Promise((resolve) => c.on('close', resolve));
    // The server side learned of the connection before the client could close it.
    await serverSocketClosed;
  } finally {
    srv.close();
  }
  return { clientError, clientGotData, server, serverError };
}

/** `authorizationError` is typed Error but Node hands back a code string (or null when authorized). */
function errorCode(e: unknown): string | undefined {
  if (e === null || e === undefined) return undefined;
  if (typeof e === 'string') return e;
  return (e as { code?: string }).code ?? String(e);
}

const trustA = (pki: TestPki): tls.ConnectionOptions => ({ ca: pki.caA.certPem });
const serve = (c: TestCert): tls.TlsOptions => ({ cert: c.chainPem, key: c.keyPem });

function opensslSerial(certPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('openssl', ['x509', '-noout', '-serial', '-in', certPath], (err, stdout) => {
      if (err !== null) reject(err); else resolve(stdout.trim());
    });
  });
}

describe('test PKI', () => {
  let pki: TestPki;
  let generationMs = 0;

  before(async () => {
    const t0 = performance.now();
    pki = await createTestPki();
    generationMs = performance.now() - t0;
  });
  after(async () => { await pki?.cleanup(); });

  it('generates every file (timing reported, not asserted)', (t) => {
    t.diagnostic(`createTestPki took ${generationMs.toFixed(0)} ms`);
    const certs: TestCert[] = [pki.server, pki.serverB, pki.serverRsa, pki.serverViaIntermediate, pki.client,
      pki.clientEvil, pki.clientB, pki.expired, pki.notYetValid, pki.expiredClient];
    for (const c of certs) {
      for (const p of [c.certPath, c.keyPath, c.chainPath]) assert.ok(existsSync(p), p);
      assert.match(c.certPem, /^-----BEGIN CERTIFICATE-----\n/);
      assert.match(c.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
      assert.ok(c.chainPem.startsWith(c.certPem));
    }
    for (const ca of [pki.caA, pki.caB, pki.intermediateA]) {
      assert.ok(existsSync(ca.certPath) && existsSync(ca.keyPath));
      assert.equal(new X509Certificate(ca.certPem).ca, true);
    }
    assert.equal(new Set(certs.map((c) => c.serial)).size, certs.length, 'serials are unique');
  });

  it('issues each certificate from the right CA with the right names and keys', () => {
    const x = (pem: string): X509Certificate => new X509Certificate(pem);
    const caA = x(pki.caA.certPem);
    const caB = x(pki.caB.certPem);
    const inter = x(pki.intermediateA.certPem);
    assert.notEqual(caA.subject, caB.subject);
    assert.ok(caA.verify(caA.publicKey) && caB.verify(caB.publicKey), 'roots are self-signed');
    assert.ok(!caB.verify(caA.publicKey), 'caB is independent of caA');
    assert.ok(inter.verify(caA.publicKey) && inter.checkIssued(caA));
    for (const c of [pki.server, pki.serverB, pki.serverRsa, pki.client, pki.clientEvil, pki.expired,
      pki.notYetValid, pki.expiredClient]) {
      assert.ok(x(c.certPem).verify(caA.publicKey), `${c.name} signed by caA`);
      assert.equal(x(c.certPem).ca, false);
      assert.equal(c.chainPem, c.certPem, `${c.name}: no intermediates`);
    }
    assert.ok(x(pki.clientB.certPem).verify(caB.publicKey));
    assert.ok(!x(pki.clientB.certPem).verify(caA.publicKey));
    const via = x(pki.serverViaIntermediate.certPem);
    assert.ok(via.verify(inter.publicKey) && !via.verify(caA.publicKey));
    assert.equal(pki.serverViaIntermediate.chainPem, pki.serverViaIntermediate.certPem + pki.intermediateA.certPem);

    assert.equal(x(pki.server.certPem).subjectAltName,
      'DNS:localhost, DNS:skiff.test, DNS:*.skiff.test, IP Address:127.0.0.1');
    assert.equal(x(pki.serverB.certPem).subjectAltName, 'DNS:other.test');
    assert.equal(x(pki.client.certPem).subjectAltName, `URI:${SPIFFE_CLIENT}`);
    assert.equal(x(pki.client.certPem).subject, 'CN=client');
    assert.equal(x(pki.clientEvil.certPem).subjectAltName, `URI:${SPIFFE_EVIL}`);

    const ec = x(pki.server.certPem).publicKey;
    assert.equal(ec.asymmetricKeyType, 'ec');
    assert.equal(ec.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    const rsa = x(pki.serverRsa.certPem).publicKey;
    assert.equal(rsa.asymmetricKeyType, 'rsa');
    assert.equal(rsa.asymmetricKeyDetails?.modulusLength, 2048);

    assert.equal(new Date(x(pki.expired.certPem).validFrom).toISOString(), '2020-01-01T00:00:00.000Z');
    assert.equal(new Date(x(pki.expired.certPem).validTo).toISOString(), '2020-12-31T23:59:59.000Z');
    assert.equal(new Date(x(pki.notYetValid.certPem).validFrom).toISOString(), '2099-01-01T00:00:00.000Z');
    assert.ok(new Date(x(pki.expiredClient.certPem).validTo).getTime() < Date.now());
  });

  it('reports serials exactly as `openssl x509 -serial` prints them', async () => {
    for (const c of [pki.server, pki.serverRsa, pki.expired, pki.notYetValid]) {
      assert.equal(await opensslSerial(c.certPath), `serial=${c.serial}`);
      assert.equal(new X509Certificate(c.certPem).serialNumber, c.serial);
    }
  });

  it('server handshakes for localhost, *.skiff.test and 127.0.0.1 with a client trusting caA', async () => {
    for (const servername of ['localhost', 'skiff.test', 'x.skiff.test']) {
      const o = await handshake(serve(pki.server), { ...trustA(pki), servername });
      assert.equal(o.clientError, undefined, servername);
      assert.ok(o.clientGotData, servername);
    }
    const ip = await handshake(serve(pki.server), trustA(pki));
    assert.equal(ip.clientError, undefined);
    assert.ok(ip.clientGotData);
  });

  it('server fails hostname checks outside its SANs (the wildcard covers one label)', async () => {
    for (const servername of ['other.test', 'a.b.skiff.test']) {
      const o = await handshake(serve(pki.server), { ...trustA(pki), servername });
      assert.equal(o.clientError, 'ERR_TLS_CERT_ALTNAME_INVALID', servername);
      assert.equal(o.clientGotData, false);
    }
  });

  it('a client trusting only caB rejects the caA server', async () => {
    const o = await handshake(serve(pki.server), { ca: pki.caB.certPem, servername: 'localhost' });
    assert.equal(o.clientError, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    assert.equal(o.clientGotData, false);
  });

  it('expired and notYetValid fail verification with CERT_HAS_EXPIRED / CERT_NOT_YET_VALID', async () => {
    const e = await handshake(serve(pki.expired), { ...trustA(pki), servername: 'localhost' });
    assert.equal(e.clientError, 'CERT_HAS_EXPIRED');
    const n = await handshake(serve(pki.notYetValid), { ...trustA(pki), servername: 'localhost' });
    assert.equal(n.clientError, 'CERT_NOT_YET_VALID');
  });

  it('serverB handshakes for other.test only; serverRsa for localhost', async () => {
    const b = await handshake(serve(pki.serverB), { ...trustA(pki), servername: 'other.test' });
    assert.equal(b.clientError, undefined);
    const bl = await handshake(serve(pki.serverB), { ...trustA(pki), servername: 'localhost' });
    assert.equal(bl.clientError, 'ERR_TLS_CERT_ALTNAME_INVALID');
    const r = await handshake(serve(pki.serverRsa), { ...trustA(pki), servername: 'localhost' });
    assert.equal(r.clientError, undefined);
    assert.ok(r.clientGotData);
  });

  it('serverViaIntermediate verifies against caA with its chain, and not without it', async () => {
    const ok = await handshake(serve(pki.serverViaIntermediate), { ...trustA(pki), servername: 'localhost' });
    assert.equal(ok.clientError, undefined);
    assert.ok(ok.clientGotData);
    const leafOnly = await handshake({ cert: pki.serverViaIntermediate.certPem, key: pki.serverViaIntermediate.keyPem },
      { ...trustA(pki), servername: 'localhost' });
    assert.equal(leafOnly.clientError, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  const mtlsServer = (pki: TestPki, rejectUnauthorized: boolean): tls.TlsOptions =>
    ({ ...serve(pki.server), ca: pki.caA.certPem, requestCert: true, rejectUnauthorized });
  const asClient = (pki: TestPki, c: TestCert): tls.ConnectionOptions =>
    ({ ...trustA(pki), servername: 'localhost', cert: c.chainPem, key: c.keyPem });

  it('mTLS with client passes and the server sees its SPIFFE URI and CN', async () => {
    const o = await handshake(mtlsServer(pki, true), asClient(pki, pki.client));
    assert.equal(o.clientError, undefined);
    assert.ok(o.clientGotData);
    assert.equal(o.serverError, undefined);
    assert.ok(o.server?.authorized);
    assert.equal(o.server?.peer.subjectaltname, `URI:${SPIFFE_CLIENT}`);
    assert.equal(o.server?.peer.subject.CN, 'client');
    assert.equal(o.server?.peer.serialNumber, pki.client.serial);

    const evil = await handshake(mtlsServer(pki, true), asClient(pki, pki.clientEvil));
    assert.ok(evil.server?.authorized, 'clientEvil is trusted by CA; only authorization by SAN can refuse it');
    assert.equal(evil.server?.peer.subjectaltname, `URI:${SPIFFE_EVIL}`);
  });

  it('clientB (caB) is rejected by a server trusting caA', async () => {
    const o = await handshake(mtlsServer(pki, true), asClient(pki, pki.clientB));
    // A rejecting Node server destroys the socket without surfacing the verify error (TLS 1.3: after
    // the client's Finished), so the reason is read from a non-rejecting server below.
    assert.equal(o.server, undefined, 'no secure connection on the server');
    assert.equal(o.clientGotData, false);
    const lax = await handshake(mtlsServer(pki, false), asClient(pki, pki.clientB));
    assert.equal(lax.server?.authorized, false);
    assert.equal(lax.server?.authorizationError, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('expiredClient is rejected as CERT_HAS_EXPIRED', async () => {
    const o = await handshake(mtlsServer(pki, true), asClient(pki, pki.expiredClient));
    assert.equal(o.server, undefined);
    assert.equal(o.clientGotData, false);
    const lax = await handshake(mtlsServer(pki, false), asClient(pki, pki.expiredClient));
    assert.equal(lax.server?.authorizationError, 'CERT_HAS_EXPIRED');
  });

  it('issueServer mints new leaves from caA with fresh serials for the same names', async () => {
    const a = await pki.issueServer('rotated', ['localhost', '127.0.0.1', 'DNS:r.skiff.test']);
    const b = await pki.issueServer('rotated', ['localhost', '127.0.0.1', 'DNS:r.skiff.test']);
    assert.notEqual(a.serial, b.serial);
    assert.notEqual(a.certPath, b.certPath);
    assert.equal(a.name, 'rotated');
    const xa = new X509Certificate(a.certPem);
    assert.equal(xa.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1, DNS:r.skiff.test');
    assert.equal(xa.subject, 'CN=rotated');
    assert.equal(await opensslSerial(b.certPath), `serial=${b.serial}`);
    for (const c of [a, b]) {
      const o = await handshake(serve(c), { ...trustA(pki), servername: 'r.skiff.test' });
      assert.equal(o.clientError, undefined);
      assert.ok(o.clientGotData);
    }
    await assert.rejects(pki.issueServer('bad name', ['localhost']), /bad certificate name/);
    await assert.rejects(pki.issueServer('x', ['a,b']), /contains ','/);
  });
});

describe('test PKI lifecycle', () => {
  it('creates its directory under the given parent and cleanup() removes it', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'skiff-pki-parent-'));
    try {
      const pki = await createTestPki(parent);
      assert.equal(dirname(pki.dir), parent);
      assert.equal(dirname(pki.server.certPath), pki.dir);
      assert.ok(existsSync(pki.server.certPath));
      await pki.cleanup();
      assert.equal(existsSync(pki.dir), false);
      await pki.cleanup();
      await assert.rejects(pki.issueServer('late'), /after cleanup/);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });
});
