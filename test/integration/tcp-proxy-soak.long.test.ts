/**
 * Soak (npm run test:long): 200 long-lived client connections plus connection churn through a real
 * `skiff start` process for SKIFF_SOAK_SECONDS (default 60 s). Ledger: every message carries a
 * unique id and must come back exactly once, intact, on its own connection (L1–L3 of
 * reliability.md §2.2); afterwards fds return to baseline and nothing leaks (L7). The leak check
 * reads the live heap after a full GC (a heap snapshot, `--heapsnapshot-signal`, forces one; the
 * size is read from `--trace-gc`): RSS alone is not a leak signal for V8, whose old space holds
 * garbage until its next major GC (measured: RSS +3 MiB per 8 s round while the live heap after a
 * full GC stayed at 10.5 → 10.7 MiB over four rounds). RSS is still reported, and bounded loosely.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import { echo, SkiffProcess, startUpstream, tempDir, writeJson } from '../fakes/skiff-process.js';

const SECONDS = Number(process.env['SKIFF_SOAK_SECONDS'] ?? 60);
const LONG_CLIENTS = 200;

const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
const fds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One client: sends `id\n` messages one at a time, checks each echo, counts outcomes. */
async function client(port: number, prefix: string, until: number, churn: boolean, ledger: Map<string, number>): Promise<{ ok: number; errors: string[] }> {
  let ok = 0;
  const errors: string[] = [];
  let seq = 0;
  while (Date.now() < until) {
    const s = net.connect(port, '127.0.0.1');
    s.setEncoding('utf8');
    let buf = '';
    let pending: ((line: string | Error) => void) | undefined;
    s.on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        pending?.(line);
      }
    });
    s.on('error', (e) => pending?.(e));
    s.on('close', () => pending?.(new Error('closed')));
    await new Promise((r) => s.once('connect', r));
    const perConnection = churn ? 5 : Number.POSITIVE_INFINITY;
    for (let i = 0; i < perConnection && Date.now() < until; i++) {
      const id = `${prefix}-${seq++}-${'x'.repeat(seq % 200)}`;
      ledger.set(id, 0);
      const reply = await new Promise<string | Error>((resolve) => {
        pending = resolve;
        s.write(`${id}\n`);
      });
      pending = undefined;
      if (reply instanceof Error) {
        errors.push(`${id}: ${reply.message}`);
        break;
      }
      ledger.set(reply, (ledger.get(reply) ?? 0) + 1);
      if (reply === id) ok++;
      else errors.push(`${id}: got ${reply.slice(0, 40)}`);
    }
    s.end();
    await new Promise((r) => s.once('close', r));
    if (!churn) break;
  }
  return { ok, errors };
}

test(`tcp_proxy soak: ${LONG_CLIENTS} long connections + churn for ${SECONDS}s, ledger exact, resources back to baseline`, { timeout: (SECONDS + 60) * 1000 + 30_000 }, async () => {
  const upstream = await startUpstream(echo);
  const { dir, cleanup } = tempDir();
  let skiff: SkiffProcess | undefined;
  try {
    const config = writeJson(dir, 'soak.json', {
      servers: [{ default_log_path: 'stderr', default_log_level: 'INFO', listeners: [{ name: 'soak', address: '127.0.0.1:0', bind_port: true, filter_chains: [{ filters: [{ type: 'tcp_proxy', config: { cluster: 'echo' } }] }] }] }],
      cluster_manager: { clusters: [{ name: 'echo', connect_timeout: '1s', hosts: [{ address: `127.0.0.1:${upstream.port}` }] }] },
    });
    skiff = await SkiffProcess.start(config, [], { nodeArgs: ['--trace-gc', '--heapsnapshot-signal=SIGUSR2'], cwd: dir });
    const pid = skiff.child.pid as number;
    const port = await skiff.waitForListener('soak');
    const ledger = new Map<string, number>();
    // Warm-up at full load so the baseline includes a grown heap: the check is for leaks, not heap sizing.
    const warmUntil = Date.now() + Math.min(5, SECONDS) * 1000;
    await Promise.all(Array.from({ length: LONG_CLIENTS }, (_, i) => client(port, `warm${i}`, warmUntil, false, ledger)));
    await sleep(2000);
    const running = skiff;
    const liveHeapMiB = async (): Promise<number> => {
      const before = running.stdout.length;
      running.signal('SIGUSR2');
      await running.waitFor(() => /Mark-Compact[^\n]*->\s*[\d.]+/.test(running.stdout.slice(before)) && readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot')).length > 0, 20_000, 'heap snapshot GC');
      await sleep(1500); // the snapshot's own GCs settle
      const lines = running.stdout.slice(before).split('\n').filter((l) => l.includes('Mark-Compact'));
      const last = lines[lines.length - 1] ?? '';
      for (const f of readdirSync(dir)) if (f.endsWith('.heapsnapshot')) rmSync(join(dir, f));
      return Number(/->\s*([\d.]+)/.exec(last)?.[1] ?? NaN);
    };
    const baseline = { rss: rssKiB(pid), fds: fds(pid), heap: await liveHeapMiB() };
    const until = Date.now() + SECONDS * 1000;
    const runs = [
      ...Array.from({ length: LONG_CLIENTS }, (_, i) => client(port, `long${i}`, until, false, ledger)),
      ...Array.from({ length: 8 }, (_, i) => client(port, `churn${i}`, until, true, ledger)),
    ];
    const results = await Promise.all(runs);
    const ok = results.reduce((n, r) => n + r.ok, 0);
    const errors = results.flatMap((r) => r.errors);
    await sleep(2000);
    const after = { rss: rssKiB(pid), fds: fds(pid), heap: await liveHeapMiB() };
    const wrong = [...ledger].filter(([, n]) => n !== 1);
    console.log(`soak: ${ok} messages ok, ${errors.length} errors, ledger entries ${ledger.size}, RSS ${baseline.rss} → ${after.rss} KiB, live heap ${baseline.heap} → ${after.heap} MiB, fds ${baseline.fds} → ${after.fds}`);
    assert.deepEqual(errors, []);
    assert.deepEqual(wrong.slice(0, 5), [], 'every id answered exactly once');
    assert.ok(ok > LONG_CLIENTS, `traffic flowed (${ok})`);
    assert.ok(after.fds <= baseline.fds + 5, `fds back to baseline: ${baseline.fds} → ${after.fds}`);
    assert.ok(after.heap - baseline.heap < 5, `live heap after a full GC grew ${baseline.heap} → ${after.heap} MiB (< 5 MiB)`);
    assert.ok(after.rss - baseline.rss < 96 * 1024, `RSS growth ${after.rss - baseline.rss} KiB stays bounded (< 96 MiB)`);
  } finally {
    await skiff?.stop();
    await upstream.close();
    cleanup();
  }
});
