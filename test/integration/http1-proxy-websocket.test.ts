// HTTP/1 proxy, upgrades (issue 3 Deliver 2-3): a WebSocket upgrade is tunnelled both ways after
// the origin's 101 (the `ws` package on both ends: text, 1 MiB binary, close handshake with its
// code), while an `h2c` upgrade, or any token not in upgrade_types, is forwarded as a plain request
// with no Upgrade, HTTP2-Settings or `Connection: upgrade` reaching the origin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { l7Document, startSkiff } from '../fakes/l7-harness.js';
import { headerOf, rawRequest, responseBytes, ScriptedOrigin } from '../fakes/scripted-origin.js';

/** A `ws` echo origin that greets each client first, and records the upgrade request and close codes. */
async function wsOrigin(): Promise<{ port: number; upgrades: http.IncomingHttpHeaders[]; closes: number[]; sockets(): Iterable<WebSocket>; close(): Promise<void> }> {
  const server = http.createServer((_req, res) => res.end('plain'));
  const wss = new WebSocketServer({ server });
  const upgrades: http.IncomingHttpHeaders[] = [];
  const closes: number[] = [];
  wss.on('connection', (ws, req) => {
    upgrades.push(req.headers);
    ws.send('welcome');
    ws.on('message', (data: RawData, isBinary: boolean) => ws.send(data, { binary: isBinary }));
    ws.on('close', (code: number) => closes.push(code));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    upgrades,
    closes,
    sockets: () => wss.clients,
    async close() {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Next message from a client socket, with its binary flag. */
function nextMessage(ws: WebSocket, timeoutMs = 5000): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no WebSocket message')), timeoutMs);
    ws.once('message', (data: RawData, isBinary: boolean) => {
      clearTimeout(t);
      resolve({ data: Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer), isBinary });
    });
  });
}

test('WebSocket through Skiff: greeting, text and 1 MiB binary echo, close handshake with its code', { timeout: 15_000 }, async () => {
  const origin = await wsOrigin();
  const skiff = await startSkiff(l7Document({ clusters: { ws: [`127.0.0.1:${origin.port}`] } }));
  const ws = new WebSocket(`ws://127.0.0.1:${skiff.port()}/chat`);
  try {
    const greeting = nextMessage(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`unexpected response ${res.statusCode}`)));
    });
    assert.equal((await greeting).data.toString(), 'welcome', 'origin → client');
    assert.equal(origin.upgrades[0]?.upgrade?.toLowerCase(), 'websocket');

    const text = nextMessage(ws);
    ws.send('hello through skiff');
    const t = await text;
    assert.equal(t.isBinary, false);
    assert.equal(t.data.toString(), 'hello through skiff');

    const big = randomBytes(1024 * 1024);
    const bin = nextMessage(ws);
    ws.send(big, { binary: true });
    const b = await bin;
    assert.equal(b.isBinary, true);
    assert.ok(b.data.equals(big), '1 MiB binary message intact');

    const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })));
    ws.close(4000, 'bye');
    const c = await closed;
    assert.equal(c.code, 4000, 'the close frame crossed both ways');
    assert.equal(c.reason, 'bye');
    for (let i = 0; i < 50 && origin.closes.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(origin.closes, [4000]);
  } finally {
    ws.terminate();
    await skiff.close();
    await origin.close();
  }
});

/** Opens a client through Skiff and waits for the handshake and the greeting. */
async function openClient(port: number): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/chat`);
  const greeting = nextMessage(ws);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  await greeting;
  return ws;
}

test('WebSocket: 8 MiB each way at once in 64 KiB messages, in order', { timeout: 15_000 }, async () => {
  const origin = await wsOrigin();
  const skiff = await startSkiff(l7Document({ clusters: { ws: [`127.0.0.1:${origin.port}`] } }));
  const ws = await openClient(skiff.port());
  try {
    const count = 128;
    const sent: Buffer[] = [];
    const got: Buffer[] = [];
    const done = new Promise<void>((resolve) => {
      ws.on('message', (data: RawData) => {
        got.push(Buffer.from(data as Buffer));
        if (got.length === count) resolve();
      });
    });
    for (let i = 0; i < count; i++) {
      const m = randomBytes(64 * 1024);
      m.writeUInt32BE(i, 0);
      sent.push(m);
      ws.send(m, { binary: true });
    }
    await done;
    for (let i = 0; i < count; i++) assert.ok(got[i]?.equals(sent[i] ?? Buffer.alloc(0)), `message ${i} intact and in order`);
  } finally {
    ws.terminate();
    await skiff.close();
    await origin.close();
  }
});

test('WebSocket: a close started by the origin reaches the client with its code; an origin crash closes the client abnormally', async () => {
  const origin = await wsOrigin();
  const skiff = await startSkiff(l7Document({ clusters: { ws: [`127.0.0.1:${origin.port}`] } }));
  try {
    const a = await openClient(skiff.port());
    const closedA = new Promise<number>((resolve) => a.once('close', (code: number) => resolve(code)));
    for (const c of origin.sockets()) c.close(4001, 'server says bye');
    assert.equal(await closedA, 4001);

    const b = await openClient(skiff.port());
    const closedB = new Promise<number>((resolve) => b.once('close', (code: number) => resolve(code)));
    for (const c of origin.sockets()) c.terminate();
    assert.equal(await closedB, 1006, 'no close frame: abnormal closure');
  } finally {
    await skiff.close();
    await origin.close();
  }
});

test('WebSocket upgrade refused by the origin (403): the client gets the 403, no tunnel', async () => {
  const server = http.createServer((_req, res) => {
    res.statusCode = 200;
    res.end('plain');
  });
  server.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 6\r\nconnection: close\r\n\r\nnot ws'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const skiff = await startSkiff(l7Document({ clusters: { ws: [`127.0.0.1:${(server.address() as AddressInfo).port}`] } }));
  const ws = new WebSocket(`ws://127.0.0.1:${skiff.port()}/chat`);
  try {
    const status = await new Promise<number>((resolve, reject) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => reject(new Error('the tunnel opened')));
      ws.once('error', reject);
    });
    assert.equal(status, 403);
  } finally {
    ws.terminate();
    await skiff.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

const UPGRADE_NOT_TUNNELLED: readonly { name: string; head: string }[] = [
  { name: 'an h2c upgrade', head: 'Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n' },
  { name: 'an upgrade to a token not in upgrade_types', head: 'Connection: upgrade\r\nUpgrade: foo/1\r\n' },
];

for (const c of UPGRADE_NOT_TUNNELLED) {
  test(`${c.name} is forwarded as a plain request: the origin sees no Upgrade, the client gets no 101`, async () => {
    const origin = await ScriptedOrigin.start({
      onRequest(req, conn) {
        conn.socket.write(responseBytes(200, [], `plain ${req.target}`));
      },
    });
    const skiff = await startSkiff(l7Document({ clusters: { c1: [origin.address] } }));
    try {
      const res = await rawRequest(skiff.port(), `GET /up HTTP/1.1\r\nHost: a\r\n${c.head}\r\n`);
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'plain /up');
      assert.equal(headerOf(res.headers, 'upgrade'), undefined);
      const seen = origin.completed[0];
      assert.ok(seen, 'forwarded');
      assert.equal(headerOf(seen.headers, 'upgrade'), undefined, 'no Upgrade upstream');
      assert.equal(headerOf(seen.headers, 'http2-settings'), undefined, 'no HTTP2-Settings upstream');
      assert.doesNotMatch(headerOf(seen.headers, 'connection') ?? '', /upgrade/i, 'no Connection: upgrade upstream');
    } finally {
      await skiff.close();
      await origin.close();
    }
  });
}
