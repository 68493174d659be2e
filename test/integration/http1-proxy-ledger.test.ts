// HTTP/1 proxy request ledger (issue 3 Acceptance; reliability §2.2 L1-L4): 10,000 requests over
// 50 keep-alive client connections, each with a unique id and a random body (0-16 KiB; content-length,
// chunked or none). The origin echoes "id:sha256(body)"; every id must get exactly one response,
// its own (no cross-delivery), with zero errors, and reach the origin exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { seededRandom } from '../../src/base/seeded-random.js';
import { l7Document, startSkiff } from '../fakes/l7-harness.js';
import { chunkedBytes, headerOf, RawClient, responseBytes, ScriptedOrigin } from '../fakes/scripted-origin.js';

const CONNECTIONS = 50;
const PER_CONNECTION = 200;
const MAX_BODY = 16 * 1024;

test('ledger: 10,000 requests over 50 keep-alive connections, each answered exactly once with its own response', { timeout: 60_000 }, async (t) => {
  const receipts = new Map<string, number>();
  const origin = await ScriptedOrigin.start({
    keepBody: false,
    onRequest(req, conn) {
      const id = headerOf(req.headers, 'x-req-id') ?? 'missing';
      receipts.set(id, (receipts.get(id) ?? 0) + 1);
      conn.socket.write(responseBytes(200, [['x-req-id', id], ['x-len', String(req.bodyBytes)]], `${id}:${req.bodySha256}`));
    },
  });
  const skiff = await startSkiff(l7Document({ clusters: { c1: [origin.address] } }));
  const port = skiff.port();
  const outcomes = new Map<string, string[]>();
  const errors: string[] = [];
  const record = (id: string, outcome: string): void => {
    const list = outcomes.get(id) ?? [];
    list.push(outcome);
    outcomes.set(id, list);
  };
  const started = Date.now();
  const clients: RawClient[] = [];
  try {
    await Promise.all(Array.from({ length: CONNECTIONS }, async (_, ci) => {
      const rnd = seededRandom(1000 + ci);
      const c = await RawClient.connect(port);
      clients.push(c);
      for (let i = 0; i < PER_CONNECTION; i++) {
        const id = `run1-${ci}-${i}`;
        const kind = rnd();
        const body = kind < 0.1 ? Buffer.alloc(0) : randomBytes(Math.floor(rnd() * (MAX_BODY + 1)));
        const bodySha = createHash('sha256').update(body).digest('hex');
        if (kind < 0.1) c.send(`GET /ledger/${id} HTTP/1.1\r\nHost: a\r\nx-req-id: ${id}\r\n\r\n`);
        else if (kind < 0.3) {
          c.send(`PUT /ledger/${id} HTTP/1.1\r\nHost: a\r\nx-req-id: ${id}\r\nTransfer-Encoding: chunked\r\n\r\n`);
          c.send(chunkedBytes([body.subarray(0, body.length >> 1), body.subarray(body.length >> 1)]));
        } else c.send(Buffer.concat([Buffer.from(`POST /ledger/${id} HTTP/1.1\r\nHost: a\r\nx-req-id: ${id}\r\ncontent-length: ${body.length}\r\n\r\n`), body]));
        try {
          const { final } = await c.readFinal({ timeoutMs: 10_000 });
          const text = final.body.toString();
          const ok = final.status === 200 && text === `${id}:${bodySha}` && headerOf(final.headers, 'x-req-id') === id && headerOf(final.headers, 'x-len') === String(body.length);
          record(id, ok ? 'ok' : `bad ${final.status} ${text.slice(0, 120)}`);
          if (!ok) errors.push(`${id}: ${final.status} ${text.slice(0, 120)}`);
        } catch (err) {
          record(id, 'error');
          errors.push(`${id}: ${(err as Error).message}`);
          return; // the connection is unusable; its remaining ids stay unanswered and fail below
        }
      }
    }));
    t.diagnostic(`${CONNECTIONS * PER_CONNECTION} requests in ${Date.now() - started} ms over ${origin.connections.length} upstream connections`);
    assert.deepEqual(errors.slice(0, 10), [], `${errors.length} errors`);
    let answered = 0;
    for (let ci = 0; ci < CONNECTIONS; ci++) {
      for (let i = 0; i < PER_CONNECTION; i++) {
        const id = `run1-${ci}-${i}`;
        const o = outcomes.get(id);
        assert.deepEqual(o, ['ok'], `${id} answered exactly once with its own response`);
        assert.equal(receipts.get(id), 1, `${id} reached the origin exactly once`);
        answered++;
      }
    }
    assert.equal(answered, CONNECTIONS * PER_CONNECTION);
    assert.equal(receipts.size, CONNECTIONS * PER_CONNECTION, 'the origin saw no other ids');
    for (const c of clients) assert.equal(c.end, 'open', 'every client connection stayed open (keep-alive)');
  } finally {
    for (const c of clients) c.close();
    await skiff.close();
    await origin.close();
  }
});
