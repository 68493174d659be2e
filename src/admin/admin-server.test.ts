import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { LoggerRegistry, StatsStore } from '../observability/index.js';
import { RecordingLogger } from '../../test/fakes/logger.js';
import { httpRequest } from '../../test/fakes/skiff-process.js';
import type { AdminContext } from './admin-context.js';
import { AdminServer } from './admin-server.js';

function fakeContext(state: { ready: boolean; draining: boolean }): AdminContext {
  return {
    version: '9.9.9',
    pid: 4242,
    loggers: new LoggerRegistry(),
    stage: () => (state.ready ? 6 : 4),
    ready: () => state.ready,
    draining: () => state.draining,
    statsSnapshot: (type) => new StatsStore().snapshot(type),
    configDocument: () => ({ servers: [{ listeners: [] }] }),
    configVersion: () => 1,
    applyDocument: () => Promise.reject(new Error('not in this test')),
    gracefulStop: () => { state.draining = true; },
  };
}

async function withAdmin(state: { ready: boolean; draining: boolean }, fn: (port: number, admin: AdminServer) => Promise<void>, maxConnections?: number): Promise<void> {
  const admin = new AdminServer({
    address: { kind: 'tcp', host: '127.0.0.1', port: 0, text: '127.0.0.1:0' },
    context: fakeContext(state),
    logger: new RecordingLogger(),
    ...(maxConnections === undefined ? {} : { maxConnections }),
  });
  await admin.listen();
  try {
    await fn(admin.port, admin);
  } finally {
    await admin.close();
  }
}

test('/ready is 503 before the server is ready and 200 after; /health 503 while draining', async () => {
  const state = { ready: false, draining: false };
  await withAdmin(state, async (port) => {
    assert.equal((await httpRequest(port, 'GET', '/ready')).status, 503);
    assert.equal((await httpRequest(port, 'GET', '/api/v1/states')).body, 'pid=4242&state=4\n');
    state.ready = true;
    assert.equal((await httpRequest(port, 'GET', '/ready')).status, 200);
    assert.equal((await httpRequest(port, 'GET', '/health')).status, 200);
    state.draining = true;
    assert.equal((await httpRequest(port, 'GET', '/health')).status, 503);
  });
});

test('a declared body over the cap → 413 before any byte of it is read', async () => {
  await withAdmin({ ready: true, draining: false }, async (port) => {
    const reply = await new Promise<string>((resolve) => {
      let got = '';
      const s = net.connect(port, '127.0.0.1', () => {
        s.write('POST /api/v1/config HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000000\r\n\r\n{');
      });
      s.on('data', (d: Buffer) => (got += d.toString()));
      s.on('close', () => resolve(got));
      s.on('error', () => resolve(got));
    });
    assert.match(reply, /^HTTP\/1\.1 413 /);
  });
});

test('a streamed body over the cap → 413', async () => {
  const admin = new AdminServer({
    address: { kind: 'tcp', host: '127.0.0.1', port: 0, text: '127.0.0.1:0' },
    context: fakeContext({ ready: true, draining: false }),
    logger: new RecordingLogger(),
    maxBodyBytes: 1024,
  });
  await admin.listen();
  try {
    const reply = await new Promise<string>((resolve) => {
      let got = '';
      const s = net.connect(admin.port, '127.0.0.1', () => {
        s.write('POST /api/v1/config HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
        s.write(`800\r\n${'x'.repeat(0x800)}\r\n`);
      });
      s.on('data', (d: Buffer) => (got += d.toString()));
      s.on('close', () => resolve(got));
      s.on('error', () => resolve(got));
    });
    assert.match(reply, /^HTTP\/1\.1 413 /);
  } finally {
    await admin.close();
  }
});

test('admin connections are capped: the one over the limit is closed at once', async () => {
  await withAdmin(
    { ready: true, draining: false },
    async (port) => {
      const open = async (): Promise<net.Socket> => {
        const s = net.connect(port, '127.0.0.1');
        await new Promise((r) => s.once('connect', r));
        return s;
      };
      const a = await open();
      const b = await open();
      const c = await open();
      const closedAt = await new Promise<number>((resolve) => {
        const t0 = Date.now();
        c.on('close', () => resolve(Date.now() - t0));
        c.on('error', () => undefined);
      });
      assert.ok(closedAt < 2000);
      // the capped ones still work
      a.write('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      const body = await new Promise<string>((resolve) => {
        let got = '';
        a.on('data', (d: Buffer) => (got += d.toString()));
        a.on('close', () => resolve(got));
      });
      assert.match(body, /^HTTP\/1\.1 200 /);
      b.destroy();
    },
    2,
  );
});

test('an unknown path → 404; HEAD works on read-only endpoints', async () => {
  await withAdmin({ ready: true, draining: false }, async (port) => {
    assert.equal((await httpRequest(port, 'GET', '/nope')).status, 404);
    const head = await httpRequest(port, 'HEAD', '/api/v1/version');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
  });
});

test('binding an address in use rejects with a one-line E_ADDR_IN_USE', async () => {
  await withAdmin({ ready: true, draining: false }, async (port) => {
    const second = new AdminServer({
      address: { kind: 'tcp', host: '127.0.0.1', port, text: `127.0.0.1:${port}` },
      context: fakeContext({ ready: true, draining: false }),
      logger: new RecordingLogger(),
    });
    await assert.rejects(second.listen(), { code: 'E_ADDR_IN_USE', message: `admin: address 127.0.0.1:${port} is already in use` });
    await second.close();
  });
});

test('/api/v1/workers: a single process lists itself; a controller lists its workers; stats may be a promise', async () => {
  await withAdmin({ ready: true, draining: false }, async (port) => {
    const r = await httpRequest(port, 'GET', '/api/v1/workers');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), [{ index: 0, pid: 4242, state: 'running', restarts: 0 }]);
  });
  const stats = new StatsStore();
  stats.scope('downstream', { listener: 'l' }).counter('request_total').inc(7);
  const admin = new AdminServer({
    address: { kind: 'tcp', host: '127.0.0.1', port: 0, text: '127.0.0.1:0' },
    context: {
      ...fakeContext({ ready: true, draining: false }),
      statsSnapshot: (type) => new Promise((resolve) => setImmediate(() => resolve(stats.snapshot(type)))),
      workers: () => [{ index: 0, pid: 11, state: 'running', restarts: 0 }, { index: 1, pid: 12, state: 'restarting', restarts: 2 }],
    },
    logger: new RecordingLogger(),
  });
  await admin.listen();
  try {
    const w = await httpRequest(admin.port, 'GET', '/api/v1/workers');
    assert.deepEqual(w.json(), [{ index: 0, pid: 11, state: 'running', restarts: 0 }, { index: 1, pid: 12, state: 'restarting', restarts: 2 }]);
    const s = await httpRequest(admin.port, 'GET', '/api/v1/stats?key=downstream');
    assert.deepEqual(s.json(), { downstream: { 'listener.l': { request_total: '7' } } });
  } finally {
    await admin.close();
  }
});
