/**
 * Soak (npm run test:long): Bolt through a real `skiff start` process for SKIFF_SOAK_SECONDS (default 60 s):
 * 100 long client connections, each keeping 10 requests in flight with unique ids and random content
 * (0–4 KiB), routed by service to two clusters; every 5 s one upstream server is killed and restarted on
 * the same port. Ledger (reliability.md §2.2): every id gets exactly one response with its own id — the
 * echo of its own content (success) or a Bolt error status while its upstream was down — never two,
 * never a swapped one, never none. Afterwards the process's fds return to the baseline and RSS stays
 * within a loose bound.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { XFrameKind, type XFrame } from '../../src/api/xprotocol.js';
import { BoltCmdCode, BoltStatus, BoltType, encodeBolt } from '../../src/extensions/codecs/bolt/bolt.js';
import { boltContent, onBoltFrames, startBoltServer, type BoltServer } from '../fakes/bolt-peer.js';
import { l7Document } from '../fakes/l7-harness.js';
import { SkiffProcess, tempDir, writeJson } from '../fakes/skiff-process.js';

const SECONDS = Number(process.env['SKIFF_SOAK_SECONDS'] ?? 60);
const CLIENTS = 100;
const IN_FLIGHT = 10;

const rssKiB = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
const fds = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test(`Bolt soak: ${CLIENTS} connections × ${IN_FLIGHT} in flight for ${SECONDS} s with upstream restarts, ledger exact, fds back to baseline`, { timeout: (SECONDS + 90) * 1000 }, async (t) => {
  const servers: BoltServer[] = [await startBoltServer({ name: 'A' }), await startBoltServer({ name: 'B' })];
  const ports = servers.map((s) => s.port);
  const { dir, cleanup } = tempDir();
  const doc = l7Document({
    clusters: { a: [`127.0.0.1:${ports[0]}`], b: [`127.0.0.1:${ports[1]}`] },
    virtualHosts: [{ name: 'rpc', domains: ['*'], routers: [
      { match: { headers: [{ name: 'service', value: 'svc.A' }] }, route: { cluster_name: 'a', timeout: '5s' } },
      { match: { headers: [{ name: 'service', value: 'svc.B' }] }, route: { cluster_name: 'b', timeout: '5s' } },
    ] }],
    proxy: { downstream_protocol: 'bolt' },
    cluster: { connect_timeout: '1s' },
    logLevel: 'INFO',
  });
  const skiff = await SkiffProcess.start(writeJson(dir, 'soak.json', doc));
  const sent = new Map<number, { service: string; content: string }>();
  const answered = new Map<number, number>();
  const problems: string[] = [];
  let ok = 0;
  let errors = 0;
  let nextId = 1;
  let stop = false;
  try {
    const port = await skiff.waitForListener('proxy');
    const baselineFds = fds(skiff.child.pid!);
    const clients = await Promise.all(Array.from({ length: CLIENTS }, () => new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    })));
    const send = (s: net.Socket): void => {
      if (stop || s.destroyed) return;
      const id = nextId++;
      const service = id % 2 === 0 ? 'svc.A' : 'svc.B';
      const content = randomBytes(Math.floor(Math.random() * 4096)).toString('base64');
      sent.set(id, { service, content });
      s.write(encodeBolt({ type: BoltType.Request, cmdCode: BoltCmdCode.Request, requestId: id, timeoutMs: 5000, headers: { service }, content: Buffer.from(content) }));
    };
    for (const s of clients) {
      s.on('error', (e) => problems.push(`client socket error: ${e.message}`));
      onBoltFrames(s, (f: XFrame) => {
        if (f.kind !== XFrameKind.Response) return;
        const req = sent.get(f.requestId);
        const n = (answered.get(f.requestId) ?? 0) + 1;
        answered.set(f.requestId, n);
        if (req === undefined) problems.push(`a response to id ${f.requestId} that was never sent`);
        else if (n > 1) problems.push(`id ${f.requestId} answered ${n} times`);
        else if (f.status === BoltStatus.Success) {
          const expect = `${req.service === 'svc.A' ? 'A' : 'B'}:${req.content}`;
          if (boltContent(f) !== expect) problems.push(`id ${f.requestId}: wrong content`);
          else ok++;
        } else if (f.status === BoltStatus.NoProcessor || f.status === BoltStatus.Timeout) errors++;
        else problems.push(`id ${f.requestId}: unexpected status ${f.status}`);
        send(s);
      });
      for (let i = 0; i < IN_FLIGHT; i++) send(s);
    }
    // Upstream restarts: every 5 s one server goes away (sockets destroyed) and comes back on its port.
    const end = Date.now() + SECONDS * 1000;
    let k = 0;
    while (Date.now() < end) {
      await sleep(Math.min(5000, Math.max(0, end - Date.now())));
      if (Date.now() >= end) break;
      const i = k++ % 2;
      await servers[i]!.close();
      await sleep(300);
      servers[i] = await startBoltServer({ name: i === 0 ? 'A' : 'B', port: ports[i]! });
    }
    stop = true;
    // Every request sent gets its answer (success, or an error status while its upstream was down).
    const deadline = Date.now() + 15_000;
    while (answered.size < sent.size && Date.now() < deadline) await sleep(50);
    const missing = [...sent.keys()].filter((id) => !answered.has(id));
    t.diagnostic(`requests ${sent.size}, ok ${ok}, error statuses ${errors}, missing ${missing.length}, restarts ${k}, problems ${problems.length}`);
    assert.deepEqual(problems.slice(0, 10), []);
    assert.equal(missing.length, 0, `unanswered ids, e.g. ${missing.slice(0, 5).join(', ')}`);
    assert.ok(ok > sent.size * 0.5, 'most requests succeed');
    for (const s of clients) s.destroy();
    let now = fds(skiff.child.pid!);
    for (let i = 0; i < 100 && now > baselineFds + 4; i++) { await sleep(100); now = fds(skiff.child.pid!); }
    const rss = rssKiB(skiff.child.pid!);
    t.diagnostic(`fds ${baselineFds} → ${now}; RSS ${Math.round(rss / 1024)} MiB`);
    assert.ok(now <= baselineFds + 4, `fds back to baseline (${baselineFds} → ${now}): upstream connections to 2 hosts may stay`);
    assert.ok(rss < 400 * 1024, `RSS ${rss} KiB`);
  } finally {
    stop = true;
    await skiff.stop();
    for (const s of servers) await s.close();
    cleanup();
  }
});
