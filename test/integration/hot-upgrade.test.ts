// Hot upgrade acceptance (issue 7) over real sockets and real `skiff start` processes. A ledger of
// 200 long-lived clients (100 HTTP/1.1 keep-alive, 100 Bolt with 4 in flight; every request a unique
// id; test/fakes/upgrade-ledger.ts) runs before, through and after each upgrade. The config routes to
// backends "A"; right before the upgrade the SAME file is rewritten to route to "B", so an answer
// names the process that served it: old → A, new → B. A Bolt client that keeps its socket and local
// port and whose last answers come from B was migrated, not reconnected.
//
//   1. SIGHUP under load                  2. a second `skiff start -c <same path>` (the container case)
//   1b. half a Bolt frame and half an HTTP/1 head held across the upgrade (unread bytes travel)
//   3. a new process that exits at start (twice), then a good upgrade
//   4. two Skiffs with different config files in one folder never take over each other; --takeover does
//   5. HTTP/2 (h2c) and TLS connections are drained (GOAWAY / connection: close), not migrated
//   6. the new process dies in the middle of the handover: the old one serves again
//   0. the ledger itself: clean against one Skiff, and it sees a plain restart (so the checks can fail)
import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { SkiffProcess, httpRequest, runCli, tempDir, writeJson } from '../fakes/skiff-process.js';
import { UpgradeLedger, type Backends } from '../fakes/upgrade-ledger.js';
import { alive, assertCleanLedger, assertMigrated, backendPairForFile, findLog, hasLog, killPid, logsOf, progress, proxyListener, requestTotal, sleep, spawnedPid, upgradeDoc, upgradeLines, upgradeStatus, within } from '../fakes/upgrade-helpers.js';
import { boltClient, boltContent } from '../fakes/bolt-peer.js';
import { BoltCmdCode, BoltType, encodeBolt } from '../../src/extensions/codecs/bolt/bolt.js';
import { createTestPki, type TestPki } from '../fakes/test-pki.js';

const LOAD_MS = 1100; // ≥ 1 s of load before the upgrade and after the old process exited

const backends = backendPairForFile(4000);

// ------------------------------------------------------------------------- 0. the ledger itself

test('ledger: 200 clients against one Skiff (no upgrade) — every id answered once by A, no connection events', async (t) => {
  const { dir, cleanup } = tempDir();
  const skiff = await SkiffProcess.start(writeJson(dir, 'skiff.json', upgradeDoc(backends.A)));
  const ledger = new UpgradeLedger({ httpPort: await skiff.waitForListener('http'), boltPort: await skiff.waitForListener('bolt'), freshEveryMs: 25 });
  try {
    await ledger.start();
    await sleep(LOAD_MS);
    await ledger.stop();
    const report = ledger.report();
    t.diagnostic(`sent ${report.sent}: ${JSON.stringify(report.byKind)}`);
    assertCleanLedger(report, 'single Skiff');
    assert.ok(report.byKind.http.sent >= 100 && report.byKind.bolt.sent >= 400 && report.byKind.fresh.sent >= 10, JSON.stringify(report.byKind));
    assertMigrated(ledger, 'A'); // same sockets throughout, answered by A
    assert.ok(await requestTotal(skiff.adminPort) >= report.sent, 'request_total counts the ledger');
  } finally {
    ledger.close();
    await skiff.stop();
    cleanup();
  }
});

test('ledger control: a plain stop/start (no hot upgrade) is seen as closes and failures', async () => {
  const { dir, cleanup } = tempDir();
  const skiff = await SkiffProcess.start(writeJson(dir, 'skiff.json', upgradeDoc(backends.A)));
  const ledger = new UpgradeLedger({ httpPort: await skiff.waitForListener('http'), boltPort: await skiff.waitForListener('bolt'), httpClients: 20, boltClients: 20 });
  try {
    await ledger.start();
    await sleep(300);
    skiff.signal('SIGINT');
    await skiff.exited;
    await ledger.stop();
    const report = ledger.report();
    assert.ok(report.events.length >= 40, `every client saw its connection end (${report.events.length} events)`);
    assert.throws(() => assertCleanLedger(report, 'restart'));
  } finally {
    ledger.close();
    await skiff.stop();
    cleanup();
  }
});

// --------------------------------------------------------------------------- 1 & 2. upgrade under load

async function upgradeUnderLoad(t: TestContext, trigger: 'sighup' | 'container'): Promise<void> {
  const { dir, cleanup } = tempDir();
  const path = writeJson(dir, 'skiff.json', upgradeDoc(backends.A));
  const old = await SkiffProcess.start(path);
  let successor: SkiffProcess | undefined;
  let newPid: number | undefined;
  const httpPort = await old.waitForListener('http');
  const boltPort = await old.waitForListener('bolt');
  const adminPort = old.adminPort;
  const ledger = new UpgradeLedger({ httpPort, boltPort, freshEveryMs: 25 });
  try {
    await ledger.start();
    await sleep(LOAD_MS);
    await progress(ledger, 500, old);
    const totalBefore = await requestTotal(adminPort);

    writeJson(dir, 'skiff.json', upgradeDoc(backends.B)); // the SAME path now routes to B
    if (trigger === 'sighup') {
      old.signal('SIGHUP');
      newPid = await spawnedPid(old);
    } else {
      successor = await SkiffProcess.start(path);
      newPid = successor.child.pid;
    }
    const exit = await within(old.exited, 25_000);
    assert.ok(exit !== undefined, `the old process did not exit within 25 s; upgrade log:\n${upgradeLines(old)}`);
    assert.deepEqual(exit, { code: 0, signal: null }, `old exit; upgrade log:\n${upgradeLines(old)}\nstderr tail: ${old.stderr.slice(-1500)}`);
    assert.ok(newPid !== undefined && alive(newPid), 'the new process runs');

    await sleep(LOAD_MS); // ≥ 1 s of load served by the new process alone
    await progress(ledger, 500, successor ?? old);
    await ledger.stop();
    const report = ledger.report();
    t.diagnostic(`sent ${report.sent}: ${JSON.stringify(report.byKind)}; upgrade log:\n${upgradeLines(old)}`);
    assertCleanLedger(report, `${trigger} upgrade`);
    assertMigrated(ledger, 'B');

    // Same ports, served by the new process (B) for new connections too.
    const fresh = await httpRequest(httpPort, 'GET', '/id/fresh');
    assert.equal(fresh.body, 'B:fresh');

    // Operator view, on the inherited admin port.
    const status = await upgradeStatus(adminPort);
    assert.equal(status.state, 'complete', JSON.stringify(status));
    assert.ok(status.connectionsMigrated >= 100, `connectionsMigrated ${status.connectionsMigrated} (≥ 100 Bolt connections alone): ${JSON.stringify(status)}`);
    assert.ok(status.listenersInherited >= 2, JSON.stringify(status));
    assert.ok(await requestTotal(adminPort) >= totalBefore, 'request_total carries over');

    // Logs: the old one handed over and finished; the new one took over (its lines are on its own
    // stderr in the container case, on the inherited one after SIGHUP).
    assert.ok(hasLog(old, 'hot upgrade: handing over'), upgradeLines(old));
    const done = findLog(old, 'hot upgrade: done');
    assert.ok(done !== undefined && Number(done['migrated']) >= 100, `old "hot upgrade: done": ${JSON.stringify(done)}`);
    assert.ok(!hasLog(old, 'hot upgrade: aborted'), upgradeLines(old));
    const newLogs = successor ?? old;
    await newLogs.waitFor(() => hasLog(newLogs, 'hot upgrade: complete', newPid), 3000, 'new "hot upgrade: complete"').catch(() => undefined);
    const complete = findLog(newLogs, 'hot upgrade: complete', newPid);
    if (successor !== undefined || logsOf(old, newPid).length > 0) {
      assert.ok(hasLog(newLogs, 'hot upgrade: taking over', newPid), 'new "hot upgrade: taking over"');
      assert.ok(hasLog(newLogs, 'hot upgrade: listeners inherited', newPid), 'new "hot upgrade: listeners inherited"');
      assert.ok(complete !== undefined && Number(complete['migrated']) >= 100, `new "hot upgrade: complete": ${JSON.stringify(complete)}`);
      assert.equal(complete['from'], old.child.pid, 'the new process names the old one');
    }
  } finally {
    ledger.close();
    await old.stop();
    if (successor !== undefined) await successor.stop();
    killPid(newPid);
    cleanup();
  }
}

test('1. SIGHUP under continuous load: 0 failed, 0 resets, every id answered once, Bolt and HTTP/1 connections migrated (same socket and port, answered by B), old exits 0', async (t) => {
  await upgradeUnderLoad(t, 'sighup');
});

test('2. the container case: a second `skiff start -c <same path>` takes over under the same load', async (t) => {
  await upgradeUnderLoad(t, 'container');
});

// ------------------------------------------------------- 1b. bytes read but not yet processed

test('1b. bytes read but not processed travel with the connection: half a Bolt frame and half an HTTP/1 head, completed only after the old process exited, are answered by the new one', async () => {
  const { dir, cleanup } = tempDir();
  const path = writeJson(dir, 'skiff.json', upgradeDoc(backends.A));
  const old = await SkiffProcess.start(path);
  let newPid: number | undefined;
  const sockets: net.Socket[] = [];
  try {
    const httpPort = await old.waitForListener('http');
    const boltPort = await old.waitForListener('bolt');
    const halfBolt = await boltClient(boltPort);
    sockets.push(halfBolt.socket);
    assert.equal(boltContent(await halfBolt.call(1, 'svc', 'warm')), 'A:warm');
    const frame = encodeBolt({ type: BoltType.Request, cmdCode: BoltCmdCode.Request, requestId: 2, timeoutMs: 20_000, headers: { service: 'svc' }, content: Buffer.from('half') });
    halfBolt.write(frame.subarray(0, 13)); // 13 of the 22 header bytes

    const halfHttp = net.connect(httpPort, '127.0.0.1');
    sockets.push(halfHttp);
    await new Promise((r) => halfHttp.once('connect', r));
    const httpEvents: string[] = [];
    halfHttp.on('error', (err: NodeJS.ErrnoException) => httpEvents.push(`error ${err.code ?? err.message}`));
    halfHttp.on('end', () => httpEvents.push('end'));
    assert.equal((await rawExchange(halfHttp, 'GET /id/warm HTTP/1.1\r\nHost: x\r\n\r\n')).body, 'A:warm');
    const reply = rawExchange(halfHttp, 'GET /id/half-http HTTP/1.1\r\nHo');
    await sleep(100);

    writeJson(dir, 'skiff.json', upgradeDoc(backends.B));
    const t0 = Date.now();
    old.signal('SIGHUP');
    newPid = await spawnedPid(old);
    const exit = await within(old.exited, 25_000);
    const exitMs = Date.now() - t0;
    assert.deepEqual(exit, { code: 0, signal: null }, `old exit; upgrade log:\n${upgradeLines(old)}`);

    halfBolt.write(frame.subarray(13));
    halfHttp.write('st: x\r\n\r\n');
    assert.ok(await halfBolt.until((fs) => fs.some((f) => f.requestId === 2), 5000), `the half Bolt request was answered (ended ${JSON.stringify(halfBolt.ended)})`);
    assert.equal(boltContent(halfBolt.frames.find((f) => f.requestId === 2)!), 'B:half', 'its first 13 bytes crossed with the connection');
    assert.deepEqual(halfBolt.ended, { fin: false, reset: false, closed: false });
    const half = await within(reply, 5000);
    assert.equal(half?.body, 'B:half-http', `the half HTTP/1 head crossed with the connection (old exited ${exitMs} ms after SIGHUP; client events: ${httpEvents.join(',') || 'none'}; reply head: ${JSON.stringify(half?.head)})`);
    assert.deepEqual(httpEvents, []);
  } finally {
    for (const s of sockets) s.destroy();
    await old.stop();
    killPid(newPid);
    cleanup();
  }
});

// ---------------------------------------------------------------------------- 3. failed upgrade

test('3. a new process that exits at start (a listener it cannot bind) leaves the old one serving with no error; a later good upgrade works', async () => {
  const { dir, cleanup } = tempDir();
  const path = writeJson(dir, 'skiff.json', upgradeDoc(backends.A));
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const taken = (blocker.address() as net.AddressInfo).port;
  const old = await SkiffProcess.start(path);
  const pids: number[] = [];
  const httpPort = await old.waitForListener('http');
  const boltPort = await old.waitForListener('bolt');
  const ledger = new UpgradeLedger({ httpPort, boltPort, freshEveryMs: 25 });
  try {
    await ledger.start();
    await sleep(LOAD_MS);
    // Same path, a listener on a port a test server holds: it inherits http/bolt, then fails to bind.
    writeJson(dir, 'skiff.json', upgradeDoc(backends.B, { extraListeners: [proxyListener('extra', 'Http1', 'web', `127.0.0.1:${taken}`)] }));

    // (a) container case: the new process is ours, so its exit code is seen.
    const failed = await runCli(['start', '-c', path], { timeoutMs: 20_000 });
    assert.equal(failed.code, 1, `the new process exits 1; its stderr: ${failed.stderr.slice(-1500)}`);
    await old.waitFor(() => hasLog(old, 'hot upgrade: aborted'), 5000, 'old "hot upgrade: aborted" (container)');
    const aborted = findLog(old, 'hot upgrade: aborted')!;
    assert.equal(aborted.level, 'warn');
    assert.ok(typeof aborted['reason'] === 'string' && aborted['reason'] !== '', JSON.stringify(aborted));
    await progress(ledger, 300, old);
    assert.equal(old.child.exitCode, null, 'the old process keeps running');

    // (b) SIGHUP: the old process spawns the same failing successor.
    old.signal('SIGHUP');
    const bad = await spawnedPid(old);
    pids.push(bad);
    await old.waitFor(() => old.logs.filter((l) => l.msg === 'hot upgrade: aborted').length >= 2, 15_000, 'old "hot upgrade: aborted" (SIGHUP)');
    await old.waitFor(() => !alive(bad), 5000, 'the failed successor gone');
    await progress(ledger, 300, old);
    assert.equal(old.child.exitCode, null, 'the old process keeps running');
    const stillA = await httpRequest(httpPort, 'GET', '/id/still');
    assert.equal(stillA.body, 'A:still', 'the old process (A) still accepts new connections');

    // A later good upgrade: same path, B, no extra listener.
    writeJson(dir, 'skiff.json', upgradeDoc(backends.B));
    old.signal('SIGHUP');
    const good = await spawnedPid(old, 2);
    pids.push(good);
    const exit = await within(old.exited, 25_000);
    assert.deepEqual(exit, { code: 0, signal: null }, `old exit after the good upgrade; upgrade log:\n${upgradeLines(old)}`);
    await sleep(LOAD_MS);
    await progress(ledger, 300, old);
    await ledger.stop();
    assertCleanLedger(ledger.report(), 'failed ×2, then good upgrade');
    assertMigrated(ledger, 'B');
    assert.equal((await upgradeStatus(old.adminPort)).state, 'complete');
  } finally {
    ledger.close();
    await old.stop();
    for (const p of pids) killPid(p);
    await new Promise<void>((r) => blocker.close(() => r()));
    cleanup();
  }
});

// ---------------------------------------------------- 4. different config files in one folder

test('4. two Skiffs with different config files in the same folder both run and never take over each other; a clash on a port exits 1', async () => {
  const { dir, cleanup } = tempDir();
  const one = await SkiffProcess.start(writeJson(dir, 'one.json', upgradeDoc(backends.A)));
  let two: SkiffProcess | undefined;
  try {
    two = await SkiffProcess.start(writeJson(dir, 'two.json', upgradeDoc(backends.B)));
    await sleep(500);
    const p1 = await one.waitForListener('http');
    const p2 = await two.waitForListener('http');
    assert.notEqual(p1, p2);
    assert.equal(one.child.exitCode, null, 'the first keeps running');
    assert.equal((await httpRequest(p1, 'GET', '/id/1')).body, 'A:1');
    assert.equal((await httpRequest(p2, 'GET', '/id/2')).body, 'B:2');
    for (const p of [one, two]) {
      for (const msg of ['hot upgrade: taking over', 'hot upgrade: handing over', 'hot upgrade: done', 'hot upgrade: complete']) {
        assert.ok(!hasLog(p, msg), `${msg} logged:\n${upgradeLines(p)}`);
      }
    }

    // A third config file whose listener wants the first one's port: it fails to bind and exits 1.
    const clash = upgradeDoc(backends.B);
    ((clash['servers'] as Record<string, unknown>[])[0]!['listeners'] as Record<string, unknown>[])[0]!['address'] = `127.0.0.1:${p1}`;
    const third = await runCli(['start', '-c', writeJson(dir, 'three.json', clash)], { timeoutMs: 15_000 });
    assert.equal(third.code, 1, `a different config on a taken port exits 1: ${third.stderr.slice(-1500)}`);
    assert.ok(!hasLog(one, 'hot upgrade: handing over'), upgradeLines(one));
    assert.equal((await httpRequest(p1, 'GET', '/id/3')).body, 'A:3', 'the first keeps serving');
    assert.equal(two.child.exitCode, null, 'the second keeps running');
    assert.equal((await upgradeStatus(two.adminPort)).state, 'none');
    assert.equal((await upgradeStatus(one.adminPort)).state, 'none');
  } finally {
    await one.stop();
    if (two !== undefined) await two.stop();
    cleanup();
  }
});

test('4b. --takeover: a Skiff with a different config file in the same folder takes over when told to', async () => {
  const { dir, cleanup } = tempDir();
  const one = await SkiffProcess.start(writeJson(dir, 'one.json', upgradeDoc(backends.A)));
  let next: SkiffProcess | undefined;
  try {
    const port = await one.waitForListener('http');
    next = await SkiffProcess.start(writeJson(dir, 'other.json', upgradeDoc(backends.B)), ['--takeover']);
    const exit = await within(one.exited, 20_000);
    assert.deepEqual(exit, { code: 0, signal: null }, `the old exits 0 after an explicit takeover; log:\n${upgradeLines(one)}\n${upgradeLines(next)}`);
    assert.ok(hasLog(next, 'hot upgrade: taking over'), upgradeLines(next));
    assert.equal((await httpRequest(port, 'GET', '/id/t')).body, 'B:t', 'the same port now served by the new process');
  } finally {
    await one.stop();
    if (next !== undefined) await next.stop();
    cleanup();
  }
});

// ------------------------------------------------------------------- 5. HTTP/2 and TLS are drained

let pki: TestPki | undefined;
after(async () => {
  await pki?.cleanup();
});

function rawExchange(s: net.Socket | tls.TLSSocket, request: string): Promise<{ head: string; body: string }> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (d: Buffer): void => {
      text += d.toString('latin1');
      const at = text.indexOf('\r\n\r\n');
      if (at < 0) return;
      const head = text.slice(0, at);
      const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      const len = m === null ? 0 : Number(m[1]);
      if (text.length < at + 4 + len) return;
      s.off('data', onData);
      s.off('error', reject);
      resolve({ head, body: text.slice(at + 4, at + 4 + len) });
    };
    s.on('data', onData);
    s.once('error', reject);
    s.write(request);
  });
}

test('5. HTTP/2 (h2c) and TLS connections are drained, not migrated: GOAWAY with the in-flight stream completed; connection: close on the TLS response', async () => {
  pki = await createTestPki();
  const { dir, cleanup } = tempDir();
  const tlsChain = { tls_context: { status: true, cert_chain: pki.server.certPath, private_key: pki.server.keyPath } };
  const doc = (to: Backends): Record<string, unknown> => upgradeDoc(to, { extraListeners: [proxyListener('h2', 'Http2', 'web'), proxyListener('tls', 'Http1', 'web', '127.0.0.1:0', tlsChain)] });
  const path = writeJson(dir, 'skiff.json', doc(backends.A));
  const old = await SkiffProcess.start(path);
  let newPid: number | undefined;
  const h2Port = await old.waitForListener('h2');
  const tlsPort = await old.waitForListener('tls');
  const sessions: http2.ClientHttp2Session[] = [];
  const sockets: net.Socket[] = [];
  const tlsConnect = async (): Promise<tls.TLSSocket> => {
    const s = tls.connect({ host: '127.0.0.1', port: tlsPort, ca: pki!.caA.certPem, servername: 'localhost' });
    sockets.push(s);
    await new Promise<void>((resolve, reject) => { s.once('secureConnect', resolve); s.once('error', reject); });
    return s;
  };
  try {
    // h2c: one long-lived session, warmed, then a slow request in flight at the upgrade.
    const session = http2.connect(`http://127.0.0.1:${h2Port}`);
    sessions.push(session);
    const sessionErrors: string[] = [];
    session.on('error', (err: NodeJS.ErrnoException) => sessionErrors.push(err.code ?? err.message));
    let goaway: number | undefined;
    session.on('goaway', (code: number) => (goaway = code));
    const h2Get = (s: http2.ClientHttp2Session, p: string): Promise<{ status: number; body: string; rst: number }> => new Promise((resolve) => {
      const req = s.request({ ':path': p });
      let status = 0;
      let body = '';
      req.on('response', (h) => (status = Number(h[':status'])));
      req.setEncoding('utf8');
      req.on('data', (d: string) => (body += d));
      req.on('error', () => undefined);
      req.on('close', () => resolve({ status, body, rst: req.rstCode ?? 0 }));
    });
    assert.equal((await h2Get(session, '/id/warm')).body, 'A:warm');

    // TLS: one keep-alive connection with a slow request in flight, one idle.
    const busyTls = await tlsConnect();
    const idleTls = await tlsConnect();
    const first = await rawExchange(idleTls, 'GET /id/t0 HTTP/1.1\r\nHost: localhost\r\n\r\n');
    assert.equal(first.body, 'A:t0');
    const idleEvents: string[] = [];
    idleTls.on('end', () => idleEvents.push('end'));
    idleTls.on('error', (err: NodeJS.ErrnoException) => idleEvents.push(`error ${err.code ?? err.message}`));
    const busyEvents: string[] = [];
    busyTls.on('end', () => busyEvents.push('end'));
    busyTls.on('error', (err: NodeJS.ErrnoException) => busyEvents.push(`error ${err.code ?? err.message}`));

    const h2Slow = h2Get(session, '/slow/h2');
    const tlsSlow = rawExchange(busyTls, 'GET /slow/tls HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await sleep(150); // both in flight upstream (A answers at 4 s: well after the handover started, even on a loaded machine)

    writeJson(dir, 'skiff.json', doc(backends.B));
    old.signal('SIGHUP');
    newPid = await spawnedPid(old);

    const h2Reply = await h2Slow;
    assert.equal(h2Reply.status, 200, `the in-flight h2 stream completes (rst ${h2Reply.rst})`);
    assert.equal(h2Reply.body, 'A:h2', 'answered by the old process');
    const tlsReply = await tlsSlow;
    assert.match(tlsReply.head, /^HTTP\/1\.1 200/);
    assert.equal(tlsReply.body, 'A:tls');
    assert.match(tlsReply.head, /\r\nconnection: close/i, 'the TLS response says connection: close');

    const exit = await within(old.exited, 15_000);
    assert.deepEqual(exit, { code: 0, signal: null }, `old exit; upgrade log:\n${upgradeLines(old)}`);
    await sleep(100);
    assert.equal(goaway, 0, `the h2c session got GOAWAY (NO_ERROR) before the old process exited (session closed: ${session.closed}, destroyed: ${session.destroyed})`);
    assert.deepEqual(busyEvents, ['end'], 'the busy TLS connection ended cleanly after its response');
    assert.deepEqual(idleEvents, ['end'], 'the idle TLS connection was closed cleanly (FIN), not reset');
    assert.deepEqual(sessionErrors, [], 'no session error on the h2c client');

    // New sessions and connections reach the new process (B) on the same ports.
    const again = http2.connect(`http://127.0.0.1:${h2Port}`);
    sessions.push(again);
    again.on('error', () => undefined);
    assert.equal((await h2Get(again, '/id/new')).body, 'B:new');
    const t2 = await tlsConnect();
    assert.equal((await rawExchange(t2, 'GET /id/t2 HTTP/1.1\r\nHost: localhost\r\n\r\n')).body, 'B:t2');

    const status = await upgradeStatus(old.adminPort);
    assert.equal(status.state, 'complete', JSON.stringify(status));
    assert.ok(status.connectionsDrained >= 2, `the h2c session and the busy TLS connection were drained: ${JSON.stringify(status)}`);
    assert.ok(status.listenersInherited >= 4, JSON.stringify(status));
  } finally {
    for (const s of sessions) s.destroy();
    for (const s of sockets) s.destroy();
    await old.stop();
    killPid(newPid);
    cleanup();
  }
});

// -------------------------------------------------- 6. the new process dies in the middle of the handover

test('6. the new process dies during the handover (SIGKILL once the old one hands over): the old one serves its sockets again, the request in flight completes, admin says failed', async () => {
  const { dir, cleanup } = tempDir();
  const cfg = writeJson(dir, 'skiff.json', upgradeDoc(backends.A));
  const old = await SkiffProcess.start(cfg);
  let next: SkiffProcess | undefined;
  try {
    const httpPort = await old.waitForListener('http');
    // A slow request (A answers /slow/ at 4 s) keeps the handover busy while the new process is killed.
    const slow = httpRequest(httpPort, 'GET', '/slow/s1');
    await sleep(150);
    writeJson(dir, 'skiff.json', upgradeDoc(backends.B));
    next = await SkiffProcess.start(cfg);
    await old.waitFor(() => hasLog(old, 'hot upgrade: handing over'), 10_000, 'the handover');
    next.child.kill('SIGKILL');
    await old.waitFor(() => hasLog(old, 'hot upgrade: the new process went away during the handover; serving again'), 10_000, `the resume; upgrade log:\n${upgradeLines(old)}`);
    // Served again by the old process (A), on the same port, new connections included.
    for (let i = 0; i < 5; i++) {
      const r = await httpRequest(httpPort, 'GET', `/id/after${i}`);
      assert.equal(r.status, 200);
      assert.equal(r.body, `A:after${i}`);
    }
    const s = await upgradeStatus(old.adminPort);
    assert.equal(s.state, 'failed', JSON.stringify(s));
    const reply = await slow;
    assert.equal(reply.status, 200);
    assert.equal(reply.body, 'A:s1', 'the request in flight at the handover completed');
    assert.ok(alive(old.child.pid!), 'the old process keeps running');
    assert.equal(old.logs.filter((l) => l.level === 'error' || l.level === 'fatal').length, 0, `no error lines:\n${upgradeLines(old)}`);
  } finally {
    if (next !== undefined) await next.stop();
    await old.stop();
    cleanup();
  }
});

// ----------------------------------------------- 7. more listening sockets than one record can carry

test('7. 70 listeners (more descriptors than one transfer record carries) are all inherited and keep their ports', async () => {
  const { dir, cleanup } = tempDir();
  const extra = Array.from({ length: 68 }, (_, i) => proxyListener(`x${i}`, 'Http1', 'web'));
  const cfg = writeJson(dir, 'skiff.json', upgradeDoc(backends.A, { extraListeners: extra }));
  const old = await SkiffProcess.start(cfg);
  let next: SkiffProcess | undefined;
  try {
    const ports = await Promise.all(['http', 'x0', 'x67'].map((n) => old.waitForListener(n)));
    writeJson(dir, 'skiff.json', upgradeDoc(backends.B, { extraListeners: extra }));
    next = await SkiffProcess.start(cfg);
    const exit = await within(old.exited, 15_000);
    assert.deepEqual(exit, { code: 0, signal: null }, `old exit; upgrade log:\n${upgradeLines(old, next)}`);
    const s = await upgradeStatus(old.adminPort);
    assert.equal(s.state, 'complete', JSON.stringify(s));
    assert.equal(s.listenersInherited, 71, `70 listeners and the admin socket: ${JSON.stringify(s)}`);
    for (const [i, port] of ports.entries()) {
      const r = await httpRequest(port, 'GET', `/id/p${i}`);
      assert.equal(r.body, `B:p${i}`, `port ${port} is served by the new process`);
    }
  } finally {
    if (next !== undefined) await next.stop();
    await old.stop();
    cleanup();
  }
});
