// tcp_proxy memory under load: 1 GiB client→upstream and 1 GiB upstream→client at the same time
// through a Skiff tcp_proxy running in a child process (test/fakes/tcp-proxy-child.ts), so the
// VmRSS read from /proc/<pid>/status is Skiff's alone. Backpressure must keep the growth flat:
// the bound is 64 MiB (issue #2). Byte counts are verified on both ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { connectTo, startServer } from '../fakes/net-fixtures.js';

const GiB = 1024 * 1024 * 1024;
const TOTAL = GiB;
const RSS_BOUND_BYTES = 64 * 1024 * 1024;

function vmRssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Writes `total` bytes (a repeated random block) honouring backpressure, then FINs. */
function pump(s: Socket, total: number, block: Buffer): void {
  let sent = 0;
  const more = (): void => {
    while (sent < total) {
      const n = Math.min(block.length, total - sent);
      sent += n;
      if (!s.write(n === block.length ? block : block.subarray(0, n))) {
        s.once('drain', more);
        return;
      }
    }
    s.end();
  };
  more();
}

/** Counts bytes until FIN; resolves with the count. */
function count(s: Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0;
    s.on('data', (c: Buffer) => (n += c.length));
    s.once('end', () => resolve(n));
    s.once('error', reject);
  });
}

test('1 GiB each way through tcp_proxy keeps Skiff RSS growth under 64 MiB', { timeout: 60_000 }, async (t) => {
  if (process.platform !== 'linux') {
    t.skip('needs /proc/<pid>/status');
    return;
  }
  const block = randomBytes(1024 * 1024);
  let upstreamReceived!: Promise<number>;
  const upstream = await startServer((s) => {
    upstreamReceived = count(s);
    pump(s, TOTAL, block);
  });
  const script = fileURLToPath(new URL('../fakes/tcp-proxy-child.js', import.meta.url));
  const child = spawn(process.execPath, [script, String(upstream.port)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let sampler: NodeJS.Timeout | undefined;
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const line = out.split('\n')[0];
        if (out.includes('\n') && line) resolve((JSON.parse(line) as { port: number }).port);
      });
      child.once('exit', (code) => reject(new Error(`proxy child exited early (${code})`)));
    });
    const pid = child.pid ?? 0;
    const baseline = vmRssBytes(pid);
    let peak = baseline;
    sampler = setInterval(() => {
      try {
        peak = Math.max(peak, vmRssBytes(pid));
      } catch {
        // the child is gone; the assertions below report it
      }
    }, 100);

    const started = Date.now();
    const client = await connectTo(port);
    const clientReceived = count(client);
    pump(client, TOTAL, block);
    const [down, up] = await Promise.all([clientReceived, (async () => {
      while (!upstreamReceived) await new Promise((r) => setTimeout(r, 5));
      return upstreamReceived;
    })()]);
    clearInterval(sampler);
    const after = vmRssBytes(pid);
    peak = Math.max(peak, after);
    const mib = (n: number): string => (n / 1048576).toFixed(1);
    t.diagnostic(`2 GiB in ${Date.now() - started} ms; RSS baseline ${mib(baseline)} MiB, peak ${mib(peak)} MiB, after ${mib(after)} MiB`);
    assert.equal(up, TOTAL, 'upstream received every byte');
    assert.equal(down, TOTAL, 'client received every byte');
    assert.ok(peak - baseline < RSS_BOUND_BYTES, `RSS grew by ${mib(peak - baseline)} MiB (bound 64 MiB)`);
    client.destroy();
  } finally {
    if (sampler) clearInterval(sampler);
    child.stdin.end();
    child.kill('SIGTERM');
    await upstream.close();
  }
});
