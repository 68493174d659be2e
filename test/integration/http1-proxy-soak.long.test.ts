/**
 * Soak (npm run test:long): the HTTP/1.1 proxy under SKIFF_SOAK_SECONDS (default 60 s) of load through
 * a real `skiff start` process: 200 keep-alive clients (node:http with a keep-alive Agent) plus
 * churning clients that open a new connection every 5 requests, random methods and bodies
 * (0–16 KiB), each request carrying a unique id. Ledger (reliability.md §2.2): every id is answered
 * exactly once, with its own id and the sha256 of its own body, and no request fails. Afterwards the
 * process's fds return to their baseline (no leaked upstream or downstream sockets) and RSS stays
 * within a loose bound.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { l7Document } from '../fakes/l7-harness.js';
import { SkiffProcess, tempDir, writeJson } from '../fakes/skiff-process.js';

const SECONDS = Number(process.env['SKIFF_SOAK_SECONDS'] ?? 60);
const KEEP_ALIVE_CLIENTS = 200;
const CHURN_CLIENTS = 20;

const rssKiB = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
const fds = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function request(port: number, agent: http.Agent, method: string, id: string, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: `/soak/${id}`, agent, headers: { 'x-id': id } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body.length > 0 ? body : undefined);
  });
}

test(`HTTP/1 proxy soak: ${KEEP_ALIVE_CLIENTS} keep-alive + ${CHURN_CLIENTS} churning clients for ${SECONDS} s, ledger exact, fds back to baseline`, { timeout: (SECONDS + 60) * 1000 }, async (t) => {
  const origin = http.createServer({ keepAliveTimeout: 120_000 }, (req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => res.end(`${String(req.headers['x-id'])} ${sha(Buffer.concat(parts))}`));
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  const originPort = (origin.address() as { port: number }).port;
  const { dir, cleanup } = tempDir();
  const skiff = await SkiffProcess.start(writeJson(dir, 'skiff.json', l7Document({ clusters: { c1: [`127.0.0.1:${originPort}`] }, cluster: { idle_timeout: '2s' }, logLevel: 'INFO' })));
  const agents: http.Agent[] = [];
  try {
    const port = await skiff.waitForListener('proxy');
    const pid = skiff.child.pid ?? 0;
    const baseFds = fds(pid);
    const baseRss = rssKiB(pid);
    const until = Date.now() + SECONDS * 1000;
    const ledger = new Map<string, number>();
    const errors: string[] = [];
    let seq = 0;
    const loop = async (churn: boolean): Promise<void> => {
      let agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      agents.push(agent);
      let n = 0;
      while (Date.now() < until) {
        if (churn && n > 0 && n % 5 === 0) {
          agent.destroy();
          agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
          agents.push(agent);
        }
        n++;
        const id = `r${seq++}`;
        const body = seq % 3 === 0 ? Buffer.alloc(0) : randomBytes(seq % 16384);
        const method = body.length === 0 ? 'GET' : seq % 2 === 0 ? 'POST' : 'PUT';
        ledger.set(id, 0);
        try {
          const r = await request(port, agent, method, id, body);
          const [gotId, gotSha] = r.text.split(' ');
          if (r.status !== 200 || gotSha !== sha(body)) errors.push(`${id}: status ${r.status} body ${r.text.slice(0, 80)}`);
          if (gotId !== undefined) ledger.set(gotId, (ledger.get(gotId) ?? 0) + 1);
        } catch (err) {
          errors.push(`${id}: ${(err as Error).message}`);
        }
      }
      agent.destroy();
    };
    await Promise.all([
      ...Array.from({ length: KEEP_ALIVE_CLIENTS }, () => loop(false)),
      ...Array.from({ length: CHURN_CLIENTS }, () => loop(true)),
    ]);
    for (const a of agents) a.destroy();
    const answeredOnce = [...ledger.values()].filter((v) => v === 1).length;
    // downstream sockets close at once; pooled upstream connections at the pool's idle timeout (2 s here)
    await sleep(3500);
    const afterFds = fds(pid);
    const afterRss = rssKiB(pid);
    t.diagnostic(`${ledger.size} requests in ${SECONDS} s (${Math.round(ledger.size / SECONDS)}/s), errors ${errors.length}, fds ${baseFds} → ${afterFds}, RSS ${Math.round(baseRss / 1024)} → ${Math.round(afterRss / 1024)} MiB`);
    assert.deepEqual(errors.slice(0, 5), []);
    assert.equal(answeredOnce, ledger.size, 'every id answered exactly once with its own response');
    assert.ok(afterFds <= baseFds + 2, `fds ${baseFds} → ${afterFds}: every downstream and pooled upstream socket closed`);
    assert.ok(afterRss - baseRss < 200 * 1024, `RSS grew ${Math.round((afterRss - baseRss) / 1024)} MiB`);
  } finally {
    for (const a of agents) a.destroy();
    await skiff.stop();
    await new Promise<void>((r) => origin.close(() => r()));
    origin.closeAllConnections();
    cleanup();
  }
});
