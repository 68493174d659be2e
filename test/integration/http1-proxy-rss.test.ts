// HTTP/1 proxy memory under load (issue 3 Deliver 2): a 1 GiB content-length upload and a 1 GiB
// download at the same time through Skiff running as `skiff start` in a child process
// (SkiffProcess), so the VmRSS read from /proc/<pid>/status is Skiff's alone. Body streaming with
// backpressure must keep the growth under 64 MiB. Byte counts are verified on both ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { l7Document } from '../fakes/l7-harness.js';
import { SkiffProcess, startUpstream, tempDir, writeJson } from '../fakes/skiff-process.js';

const GiB = 1024 * 1024 * 1024;
const RSS_BOUND_BYTES = 64 * 1024 * 1024;
const BLOCK = randomBytes(1024 * 1024);

function vmRssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Writes `total` bytes of BLOCK honouring backpressure, then calls `done`. */
function pump(s: Socket, total: number, done?: () => void): void {
  let sent = 0;
  const more = (): void => {
    while (sent < total) {
      const n = Math.min(BLOCK.length, total - sent);
      sent += n;
      if (!s.write(n === BLOCK.length ? BLOCK : BLOCK.subarray(0, n))) {
        s.once('drain', more);
        return;
      }
    }
    done?.();
  };
  more();
}

/**
 * Reads one HTTP/1 head, then hands every later byte to `onBody`. Returns the head text.
 * Minimal on purpose: the tests below control both ends' framing.
 */
function onHead(s: Socket, handle: (head: string) => void, onBody: (n: number) => void): void {
  let head: Buffer | undefined = Buffer.alloc(0);
  s.on('data', (d: Buffer) => {
    if (head !== undefined) {
      head = Buffer.concat([head, d]);
      const at = head.indexOf('\r\n\r\n');
      if (at < 0) return;
      const rest = head.subarray(at + 4);
      const text = head.subarray(0, at).toString('latin1');
      head = undefined;
      handle(text);
      if (rest.length > 0) onBody(rest.length);
      return;
    }
    onBody(d.length);
  });
}

const contentLength = (head: string): number => Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? '0');

test('1 GiB upload and 1 GiB download through the HTTP/1 proxy keep Skiff RSS growth under 64 MiB', { timeout: 60_000 }, async (t) => {
  if (process.platform !== 'linux') {
    t.skip('needs /proc/<pid>/status');
    return;
  }
  let uploadReceived = 0;
  // origin: POST → count the body, answer with the count; GET /big → 1 GiB; GET other → small.
  // One request per connection (`connection: close`), so each handler sees exactly one head.
  const origin = await startUpstream((s) => {
    let expect = 0;
    let got = 0;
    onHead(s, (head) => {
      if (head.startsWith('POST')) {
        expect = contentLength(head);
        if (expect === 0) s.end('HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 1\r\n\r\n0');
      } else if (head.startsWith('GET /big')) {
        s.write(`HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: ${GiB}\r\n\r\n`);
        pump(s, GiB, () => s.end());
      } else {
        s.write(`HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: ${BLOCK.length}\r\n\r\n`);
        s.end(BLOCK);
      }
    }, (n) => {
      got += n;
      uploadReceived = got;
      if (expect > 0 && got === expect) {
        const text = String(got);
        s.end(`HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: ${text.length}\r\n\r\n${text}`);
      }
    });
  });
  const { dir, cleanup } = tempDir();
  let skiff: SkiffProcess | undefined;
  let sampler: NodeJS.Timeout | undefined;
  const sockets: Socket[] = [];
  const open = async (port: number): Promise<Socket> => {
    const s = connect(port, '127.0.0.1');
    sockets.push(s);
    await new Promise<void>((resolve, reject) => {
      s.once('connect', resolve);
      s.once('error', reject);
    });
    return s;
  };
  try {
    const doc = l7Document({ clusters: { c1: [`127.0.0.1:${origin.port}`] }, logLevel: 'INFO' });
    skiff = await SkiffProcess.start(writeJson(dir, 'skiff.json', doc));
    const port = await skiff.waitForListener('proxy');
    const pid = skiff.child.pid ?? 0;

    // warm-up: one small request so code paths are loaded before the baseline
    const warm = await open(port);
    await new Promise<void>((resolve, reject) => {
      let n = 0;
      onHead(warm, () => undefined, (k) => {
        n += k;
        if (n >= BLOCK.length) resolve();
      });
      warm.once('error', reject);
      warm.write('GET /warm HTTP/1.1\r\nHost: a\r\n\r\n');
    });
    warm.destroy();

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

    const upload = (async (): Promise<string> => {
      const s = await open(port);
      return new Promise<string>((resolve, reject) => {
        let body = '';
        let head: string | undefined;
        s.on('data', (d: Buffer) => {
          body += d.toString('latin1');
          const at = body.indexOf('\r\n\r\n');
          if (head === undefined && at >= 0) {
            head = body.slice(0, at);
            body = body.slice(at + 4);
          }
          if (head !== undefined && body.length >= contentLength(head)) resolve(`${head.split('\r\n')[0]} ${body}`);
        });
        s.once('error', reject);
        s.once('end', () => reject(new Error(`upload connection ended early: ${body.slice(0, 200)}`)));
        s.write(`POST /up HTTP/1.1\r\nHost: a\r\ncontent-length: ${GiB}\r\n\r\n`);
        pump(s, GiB);
      });
    })();
    const download = (async (): Promise<number> => {
      const s = await open(port);
      return new Promise<number>((resolve, reject) => {
        let n = 0;
        let status = '';
        onHead(s, (head) => (status = head.split('\r\n')[0] ?? ''), (k) => {
          n += k;
          if (n >= GiB) resolve(n);
        });
        s.once('error', reject);
        s.once('end', () => (n >= GiB ? resolve(n) : reject(new Error(`download ended at ${n} bytes (${status})`))));
        s.write('GET /big HTTP/1.1\r\nHost: a\r\n\r\n');
      });
    })();
    const [up, down] = await Promise.all([upload, download]);
    clearInterval(sampler);
    const after = vmRssBytes(pid);
    peak = Math.max(peak, after);
    const mib = (n: number): string => (n / 1048576).toFixed(1);
    t.diagnostic(`2 GiB in ${Date.now() - started} ms; RSS baseline ${mib(baseline)} MiB, peak ${mib(peak)} MiB, after ${mib(after)} MiB`);
    assert.match(up, new RegExp(`^HTTP/1\\.1 200\\b.* ${GiB}$`), 'the origin received the whole upload');
    assert.equal(uploadReceived, GiB);
    assert.equal(down, GiB, 'the client received the whole download');
    assert.ok(peak - baseline < RSS_BOUND_BYTES, `RSS grew by ${mib(peak - baseline)} MiB (bound 64 MiB)`);
  } finally {
    if (sampler) clearInterval(sampler);
    for (const s of sockets) s.destroy();
    await skiff?.stop();
    await origin.close();
    cleanup();
  }
});
