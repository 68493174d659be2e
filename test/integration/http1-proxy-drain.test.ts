// Graceful stop with HTTP/1 keep-alive connections (issue 3; drain semantics of issue 7's SIGTERM):
// idle keep-alive connections close at once, an in-flight request finishes and its response says
// `connection: close`, and the process exits well before graceful_timeout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { l7Document } from '../fakes/l7-harness.js';
import { SkiffProcess, startUpstream, tempDir, writeJson } from '../fakes/skiff-process.js';

/** Sends one request and resolves with the raw response text once `until` matches it. */
function exchange(s: Socket, request: string, until: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (d: Buffer): void => {
      text += d.toString('latin1');
      if (until.test(text)) { s.off('data', onData); resolve(text); }
    };
    s.on('data', onData);
    s.once('error', reject);
    s.write(request);
  });
}

/** An HTTP/1 origin answering `ok`, after `delayMs` for the request heads `slow` picks, else at once. */
function slowOrigin(delayMs: number, slow: (head: string) => boolean, seen?: { heads: number }): ReturnType<typeof startUpstream> {
  return startUpstream((s) => {
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      let at: number;
      while ((at = buf.indexOf('\r\n\r\n')) >= 0) {
        const head = buf.slice(0, at);
        buf = buf.slice(at + 4);
        if (seen !== undefined) seen.heads++;
        const reply = (): boolean => s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
        if (slow(head)) setTimeout(reply, delayMs);
        else reply();
      }
    });
    s.on('error', () => undefined);
  });
}

test('SIGTERM: idle keep-alive connections close at once, an in-flight response completes with connection: close, exit long before graceful_timeout', async () => {
  const origin = await slowOrigin(400, (head) => head.startsWith('GET /slow'));
  const { dir, cleanup } = tempDir();
  const doc = l7Document({ clusters: { c1: [`127.0.0.1:${origin.port}`] }, logLevel: 'INFO' });
  (doc.servers as Record<string, unknown>[])[0]!.graceful_timeout = '20s';
  const skiff = await SkiffProcess.start(writeJson(dir, 'skiff.json', doc));
  const sockets: Socket[] = [];
  try {
    const port = await skiff.waitForListener('proxy');
    const open = async (): Promise<Socket> => {
      const s = connect(port, '127.0.0.1');
      sockets.push(s);
      await new Promise((r) => s.once('connect', r));
      return s;
    };
    const idle = await open();
    const first = await exchange(idle, 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n', /\r\n\r\nok$/);
    assert.match(first, /^HTTP\/1\.1 200/);
    assert.doesNotMatch(first, /connection: close/i);
    const idleClosed = new Promise<number>((r) => idle.once('close', () => r(Date.now())));

    const busy = await open();
    const slow = exchange(busy, 'GET /slow HTTP/1.1\r\nHost: x\r\n\r\n', /\r\n\r\nok$/);
    await new Promise((r) => setTimeout(r, 100)); // the request is in flight upstream
    const t0 = Date.now();
    skiff.signal('SIGTERM');

    const idleAt = await idleClosed;
    assert.ok(idleAt - t0 < 1000, `idle keep-alive connection closed ${idleAt - t0} ms after SIGTERM`);
    const reply = await slow;
    assert.match(reply, /^HTTP\/1\.1 200/);
    assert.match(reply, /\r\nconnection: close\r\n/i, 'the in-flight response tells the client to close');
    const exit = await skiff.exited;
    const tookMs = Date.now() - t0;
    assert.equal(exit.code, 0);
    assert.ok(tookMs < 5000, `exited ${tookMs} ms after SIGTERM (graceful_timeout 20 s)`);
  } finally {
    for (const s of sockets) s.destroy();
    await skiff.stop();
    await origin.close();
    cleanup();
  }
});

const DRAIN_CASES = [
  { trigger: 'admin', workers: 1, name: 'admin POST /api/v1/graceful_stop (a preStop hook)' },
  { trigger: 'SIGTERM', workers: 1, name: 'SIGTERM' },
  { trigger: 'SIGTERM', workers: 2, name: 'SIGTERM to a controller with 2 workers' },
] as const;

for (const c of DRAIN_CASES) test(`${c.name}: 50 slow in-flight requests all complete, new connections are refused, exit 0 within the deadline`, async () => {
  const seen = { heads: 0 };
  const origin = await slowOrigin(1500, () => true, seen);
  const { dir, cleanup } = tempDir();
  const doc = l7Document({ clusters: { c1: [`127.0.0.1:${origin.port}`] }, logLevel: 'INFO', cluster: { max_request_per_conn: 0 } });
  (doc.servers as Record<string, unknown>[])[0]!.graceful_timeout = '10s';
  (doc.servers as Record<string, unknown>[])[0]!.processor = c.workers;
  (doc as Record<string, unknown>)['admin'] = { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } };
  const skiff = await SkiffProcess.start(writeJson(dir, 'skiff.json', doc));
  const sockets: Socket[] = [];
  try {
    const port = await skiff.waitForListener('proxy');
    await skiff.waitFor(() => skiff.logs.some((l) => l.msg === 'admin API listening'), 3000, 'admin');
    const replies: Promise<string>[] = [];
    for (let i = 0; i < 50; i++) {
      const s = connect(port, '127.0.0.1');
      sockets.push(s);
      await new Promise((r) => s.once('connect', r));
      replies.push(exchange(s, `GET /slow/${i} HTTP/1.1\r\nHost: x\r\n\r\n`, /\r\n\r\nok$/));
    }
    // All 50 are in flight upstream (the origin has their heads) before the stop starts.
    await skiff.waitFor(() => seen.heads >= 50, 5000, 'all 50 requests at the origin');
    const t0 = Date.now();
    if (c.trigger === 'admin') {
      const r = await skiff.admin('POST', '/api/v1/graceful_stop', { body: {} });
      assert.equal(r.status, 202);
    } else {
      skiff.signal('SIGTERM');
    }
    await new Promise((res) => setTimeout(res, 150));
    const refused = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(false); });
      s.once('error', () => resolve(true));
    });
    assert.ok(refused, 'new connections are refused once the drain started');
    const all = await Promise.all(replies);
    assert.equal(all.filter((x) => /^HTTP\/1\.1 200/.test(x)).length, 50, 'all 50 in-flight requests completed');
    const exit = await skiff.exited;
    assert.equal(exit.code, 0);
    assert.ok(Date.now() - t0 < 10_000, `exited ${Date.now() - t0} ms after the request (graceful_timeout 10 s)`);
  } finally {
    for (const s of sockets) s.destroy();
    await skiff.stop();
    await origin.close();
    cleanup();
  }
});
