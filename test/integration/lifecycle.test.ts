/** Process lifecycle of a real `skiff start`: SIGTERM drain, fast stop, SIGHUP and SIGUSR1. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import { canConnect, echo, echoRoundTrip, proxyConfig, SkiffProcess, slowStreamer, startUpstream, tcpCollect, tempDir, writeJson } from '../fakes/skiff-process.js';

async function startWith(upstreamPort: number, gracefulTimeout = '5s', extra?: Record<string, unknown>): Promise<{ skiff: SkiffProcess; cleanup: () => Promise<void> }> {
  const t = tempDir();
  const doc = { ...proxyConfig({ listeners: [{ name: 'l1', cluster: 'c1' }], clusters: [{ name: 'c1', ports: [upstreamPort] }], gracefulTimeout }), ...extra };
  const skiff = await SkiffProcess.start(writeJson(t.dir, 'skiff.json', doc));
  return {
    skiff,
    cleanup: async () => {
      await skiff.stop();
      t.cleanup();
    },
  };
}

test('SIGTERM lets an in-flight transfer from a slow upstream finish byte-exact, refuses new ones, exits 0', async () => {
  let upstreamHash = '';
  const upstream = await startUpstream(slowStreamer(2 * 1024 * 1024, 1000, (h) => (upstreamHash = h)));
  const { skiff, cleanup } = await startWith(upstream.port);
  try {
    const port = skiff.listenerPort('l1');
    const transfer = tcpCollect(port);
    await new Promise((r) => setTimeout(r, 200)); // the transfer is under way
    skiff.signal('SIGTERM');
    await skiff.waitFor(() => skiff.logs.some((l) => l['stage'] === 'GracefulStopping'), 3000, 'GracefulStopping');
    assert.equal(await canConnect(port), false, 'no new connections while draining');
    const got = await transfer;
    assert.equal(got.bytes, 2 * 1024 * 1024);
    assert.equal(got.sha256, upstreamHash);
    const exit = await skiff.exited;
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.ok(skiff.logs.some((l) => l['stage'] === 'Stopped'));
  } finally {
    await cleanup();
    await upstream.close();
  }
});

test('SIGTERM with a connection that never finishes exits at graceful_timeout (1s)', async () => {
  const upstream = await startUpstream(() => undefined); // accepts and never answers
  const { skiff, cleanup } = await startWith(upstream.port, '1s');
  try {
    const client = net.connect(skiff.listenerPort('l1'), '127.0.0.1');
    client.on('error', () => undefined);
    await new Promise((r) => client.once('connect', r));
    client.write('hello');
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    skiff.signal('SIGTERM');
    const exit = await skiff.exited;
    const tookMs = Date.now() - t0;
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.ok(tookMs >= 900, `waited for the drain (${tookMs} ms)`);
    assert.ok(tookMs < 4000, `but not much longer (${tookMs} ms)`);
    client.destroy();
  } finally {
    await cleanup();
    await upstream.close();
  }
});

for (const sig of ['SIGINT', 'SIGQUIT'] as const) {
  test(`${sig} is a fast stop: open connections are closed and the process exits 0 in under 1 s`, async () => {
    const upstream = await startUpstream(() => undefined);
    const { skiff, cleanup } = await startWith(upstream.port, '30s');
    try {
      const client = net.connect(skiff.listenerPort('l1'), '127.0.0.1');
      client.on('error', () => undefined);
      await new Promise((r) => client.once('connect', r));
      const clientClosed = new Promise((r) => client.once('close', r));
      const t0 = Date.now();
      skiff.signal(sig);
      const exit = await skiff.exited;
      const tookMs = Date.now() - t0;
      assert.deepEqual(exit, { code: 0, signal: null });
      assert.ok(tookMs < 1000, `${sig} took ${tookMs} ms`);
      await clientClosed;
    } finally {
      await cleanup();
      await upstream.close();
    }
  });
}

test('SIGHUP with disable_upgrade is logged and ignored: the process keeps serving', async () => {
  const upstream = await startUpstream(echo);
  const { skiff, cleanup } = await startWith(upstream.port, '5s', { disable_upgrade: true });
  try {
    skiff.signal('SIGHUP');
    await skiff.waitFor(() => skiff.logs.some((l) => l.msg === 'hot upgrade is off (disable_upgrade); SIGHUP ignored'), 3000, 'SIGHUP log');
    assert.ok(await echoRoundTrip(skiff.listenerPort('l1'), randomBytes(4096)));
    assert.equal((await skiff.admin('GET', '/api/v1/states')).body, `pid=${skiff.child.pid}&state=6\n`);
  } finally {
    await cleanup();
    await upstream.close();
  }
});

test('SIGUSR1 reopens logs, opens no debugger port, and the process keeps serving', async () => {
  const upstream = await startUpstream(echo);
  const { skiff, cleanup } = await startWith(upstream.port);
  try {
    const inspectorBefore = await canConnect(9229);
    skiff.signal('SIGUSR1');
    await skiff.waitFor(() => skiff.logs.some((l) => l.msg === 'SIGUSR1: log files reopened'), 3000, 'SIGUSR1 log');
    await new Promise((r) => setTimeout(r, 300));
    assert.doesNotMatch(skiff.stderr, /Debugger listening/);
    if (!inspectorBefore) assert.equal(await canConnect(9229), false, 'nothing listens on the inspector port');
    // No TCP socket of the skiff process listens anywhere but its own listener and admin ports.
    const inodes = socketInodes(skiff.child.pid as number);
    const listening = listeningPorts(inodes);
    const expected = new Set([skiff.listenerPort('l1'), skiff.adminPort]);
    for (const p of listening) assert.ok(expected.has(p), `unexpected listening port ${p}`);
    assert.ok(await echoRoundTrip(skiff.listenerPort('l1'), randomBytes(4096)));
  } finally {
    await cleanup();
    await upstream.close();
  }
});

/** Inodes of the process's sockets (/proc/<pid>/fd → socket:[inode]). */
function socketInodes(pid: number): Set<string> {
  const out = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m?.[1]) out.add(m[1]);
    } catch {
      /* fd closed meanwhile */
    }
  }
  return out;
}

/** Ports in LISTEN state (st 0A) owned by those inodes, from /proc/net/tcp and tcp6. */
function listeningPorts(inodes: Set<string>): number[] {
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || cols[3] !== '0A' || !inodes.has(cols[9] as string)) continue;
      ports.push(parseInt((cols[1] as string).split(':')[1] as string, 16));
    }
  }
  return ports;
}
