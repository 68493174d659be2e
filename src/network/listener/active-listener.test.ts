import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, existsSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { FilterStatus, type Connection, type ListenerFilter, type ReadFilter } from '../../api/network.js';
import type { NetworkFilterCreator } from '../../api/extension.js';
import { SkiffError } from '../../base/errors.js';
import { StatsStore } from '../../observability/stats.js';
import { RecordingLogger } from '../../../test/fakes/logger.js';
import { connectTo, listenerConfig, readAll, tcp, unix, waitFor } from '../../../test/fakes/net-fixtures.js';
import { ActiveListener, type ListenerDeps } from './active-listener.js';

/** Echoes data back; FIN → endWrite. */
const echo: NetworkFilterCreator = (conn: Connection) => {
  conn.addReadFilter({
    onData(data, end) {
      if (data.length) conn.write(data);
      if (end) conn.endWrite();
      return FilterStatus.Stop;
    },
  });
};

function deps(over: Partial<ListenerDeps> = {}): ListenerDeps & { stats: StatsStore; logger: RecordingLogger } {
  return { filterCreators: [echo], listenerFilters: [], stats: new StatsStore(), logger: new RecordingLogger(), ...over } as ListenerDeps & { stats: StatsStore; logger: RecordingLogger };
}

async function roundTrip(port: number, payload: string, host = '127.0.0.1'): Promise<string> {
  const s = await connectTo(port, host);
  const done = readAll(s);
  s.end(payload);
  return (await done).data.toString();
}

function port(l: ActiveListener): number {
  const a = l.boundAddress;
  assert.equal(a.kind, 'tcp');
  return a.kind === 'tcp' ? a.port : 0;
}

test('echo through a listener; half-close both ways; downstream stats', async () => {
  const d = deps();
  const l = new ActiveListener(listenerConfig(), d);
  await l.listen();
  try {
    assert.notEqual(port(l), 0);
    assert.equal(await roundTrip(port(l), 'hello'), 'hello');
    await waitFor(() => l.connectionCount === 0, 2000, 'connection to close after both FINs');
    const labels = { listener: 'l1' };
    assert.equal(d.stats.get('downstream', labels, 'connection_total'), 1);
    assert.equal(d.stats.get('downstream', labels, 'connection_active'), 0);
    assert.equal(d.stats.get('downstream', labels, 'connection_destroy'), 1);
    assert.equal(d.stats.get('downstream', labels, 'bytes_read_total'), 5);
    assert.equal(d.stats.get('downstream', labels, 'bytes_write_total'), 5);
  } finally {
    l.closeAll();
  }
});

test('read chain runs in order, Stop ends iteration; onNewConnection once; write chain order and Stop', async () => {
  const seen: string[] = [];
  const creator: NetworkFilterCreator = (conn) => {
    const f = (name: string, status: FilterStatus): ReadFilter => ({
      onNewConnection() { seen.push(`${name}:new`); return FilterStatus.Continue; },
      onData(data) { if (data.length) seen.push(`${name}:${data.toString()}`); return status; },
    });
    conn.addReadFilter(f('a', FilterStatus.Continue));
    conn.addReadFilter({
      onNewConnection() { seen.push('b:new'); return FilterStatus.Continue; },
      onData(data, end) {
        if (data.length) { seen.push(`b:${data.toString()}`); conn.write(Buffer.from('keep')); conn.write(Buffer.from('drop')); }
        if (end) conn.endWrite();
        return FilterStatus.Stop;
      },
    });
    conn.addReadFilter(f('c', FilterStatus.Continue));
    conn.addWriteFilter({ onWrite(d) { seen.push(`w1:${d.toString()}`); return FilterStatus.Continue; } });
    conn.addWriteFilter({ onWrite(d) { return d.toString() === 'drop' ? FilterStatus.Stop : FilterStatus.Continue; } });
  };
  const l = new ActiveListener(listenerConfig(), deps({ filterCreators: [creator] }));
  await l.listen();
  try {
    const got = await roundTrip(port(l), 'x');
    assert.equal(got, 'keep');
    assert.deepEqual(seen, ['a:new', 'b:new', 'c:new', 'a:x', 'b:x', 'w1:keep', 'w1:drop']);
  } finally {
    l.closeAll();
  }
});

test('idle timeout closes a silent connection', async () => {
  const closed: string[] = [];
  const creator: NetworkFilterCreator = (conn) => {
    echo(conn);
    conn.addConnectionCallbacks({ onEvent: () => closed.push(conn.closeReason) });
  };
  const l = new ActiveListener(listenerConfig({ connectionIdleTimeoutMs: 80 }), deps({ filterCreators: [creator] }));
  await l.listen();
  try {
    const s = await connectTo(port(l));
    const r = await readAll(s);
    assert.equal(r.data.length, 0);
    assert.deepEqual(closed, ['idle_timeout']);
  } finally {
    l.closeAll();
  }
});

test('connection limit: over the limit the socket is closed at once and counted', async () => {
  const d = deps();
  const l = new ActiveListener(listenerConfig({ maxConnections: 2 }), d);
  await l.listen();
  try {
    const a = await connectTo(port(l));
    const b = await connectTo(port(l));
    await waitFor(() => l.connectionCount === 2);
    const c = await connectTo(port(l));
    const r = await readAll(c);
    assert.equal(r.data.length, 0);
    assert.equal(d.stats.get('downstream', { listener: 'l1' }, 'connection_refused_limit'), 1);
    assert.equal(l.connectionCount, 2);
    a.destroy();
    await waitFor(() => l.connectionCount === 1);
    assert.equal(await roundTrip(port(l), 'again'), 'again');
    b.destroy();
  } finally {
    l.closeAll();
  }
});

test('a throwing filter closes only its own connection and is logged', async () => {
  const creator: NetworkFilterCreator = (conn) => {
    conn.addReadFilter({
      onData(data, end) {
        if (data.toString() === 'boom') throw new Error('filter bug');
        if (data.length) conn.write(data);
        if (end) conn.endWrite();
        return FilterStatus.Stop;
      },
    });
  };
  const d = deps({ filterCreators: [creator] });
  const l = new ActiveListener(listenerConfig(), d);
  await l.listen();
  try {
    const good = await connectTo(port(l));
    const goodData: Buffer[] = [];
    good.on('data', (c: Buffer) => goodData.push(c));
    const bad = await connectTo(port(l));
    const badDone = readAll(bad);
    bad.write('boom');
    await badDone;
    good.write('still alive');
    await waitFor(() => Buffer.concat(goodData).toString() === 'still alive');
    assert.ok(d.logger.has('error', /network filter threw/));
    good.destroy();
  } finally {
    l.closeAll();
  }
});

test('listen on a port in use rejects with E_ADDR_IN_USE and a clear message', async () => {
  const first = new ActiveListener(listenerConfig({ name: 'first' }), deps());
  await first.listen();
  const p = port(first);
  try {
    const second = new ActiveListener(listenerConfig({ name: 'x', address: tcp('127.0.0.1', p) }), deps());
    await assert.rejects(second.listen(), (e: unknown) => {
      assert.ok(e instanceof SkiffError);
      assert.equal(e.code, 'E_ADDR_IN_USE');
      assert.equal(e.message, `listener "x": address 127.0.0.1:${p} is already in use`);
      return true;
    });
  } finally {
    first.closeAll();
  }
});

test('unix socket listener: stale file removed before bind, live one refused, file removed on close', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-unix-'));
  const path = join(dir, 'l.sock');
  try {
    // A stale socket file: its server was SIGKILLed, so nobody unlinked it.
    const { spawnSync } = await import('node:child_process');
    spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    assert.ok(existsSync(path), 'stale socket file present');
    const l = new ActiveListener(listenerConfig({ name: 'u', address: unix(path) }), deps());
    await l.listen();
    const s = connect({ path, allowHalfOpen: true });
    const done = readAll(s);
    s.end('over unix');
    assert.equal((await done).data.toString(), 'over unix');

    const live = new ActiveListener(listenerConfig({ name: 'u2', address: unix(path) }), deps());
    await assert.rejects(live.listen(), (e: unknown) => e instanceof SkiffError && e.code === 'E_ADDR_IN_USE');
    await l.stopAccepting();
    l.closeAll();
    assert.equal(existsSync(path), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('IPv6 loopback listener', async (t) => {
  const hasV6 = Object.values(networkInterfaces()).some((list) => list?.some((i) => i.family === 'IPv6' && i.internal && i.address === '::1'));
  if (!hasV6) {
    t.skip('no IPv6 loopback (::1) on this machine');
    return;
  }
  const l = new ActiveListener(listenerConfig({ name: 'v6', address: tcp('::1', 0) }), deps());
  await l.listen();
  try {
    assert.match(l.boundAddress.text, /^\[::1\]:\d+$/);
    assert.equal(await roundTrip(port(l), 'six', '::1'), 'six');
  } finally {
    l.closeAll();
  }
});

test('listener filters: Stop then continueFilterChain(true) proceeds; (false) closes the socket', async () => {
  const order: string[] = [];
  const delayed = (): ListenerFilter => ({
    onAccept(cb) {
      order.push('delayed');
      const ok = cb.socket.remotePort !== undefined;
      setTimeout(() => cb.continueFilterChain(ok), 20);
      return FilterStatus.Stop;
    },
  });
  let reject = false;
  const gate = (): ListenerFilter => ({
    onAccept(cb) {
      order.push('gate');
      if (reject) {
        cb.continueFilterChain(false);
        return FilterStatus.Stop;
      }
      return FilterStatus.Continue;
    },
  });
  const l = new ActiveListener(listenerConfig(), deps({ listenerFilters: [delayed, gate] }));
  await l.listen();
  try {
    assert.equal(await roundTrip(port(l), 'through'), 'through');
    assert.deepEqual(order, ['delayed', 'gate']);
    reject = true;
    const s = await connectTo(port(l));
    s.write('nope');
    const r = await readAll(s);
    assert.equal(r.data.length, 0);
    assert.equal(l.connectionCount, 0);
  } finally {
    l.closeAll();
  }
});

test('update() swaps the chain for new connections only', async () => {
  const tagger = (tag: string): NetworkFilterCreator => (conn) => {
    conn.addReadFilter({
      onData(data, end) {
        if (data.length) conn.write(Buffer.from(`${tag}:${data.toString()}`));
        if (end) conn.endWrite();
        return FilterStatus.Stop;
      },
    });
  };
  const d = deps({ filterCreators: [tagger('old')] });
  const config = listenerConfig();
  const l = new ActiveListener(config, d);
  await l.listen();
  try {
    const early = await connectTo(port(l));
    await waitFor(() => l.connectionCount === 1);
    l.update(config, { ...d, filterCreators: [tagger('new')] });
    assert.equal(await roundTrip(port(l), 'b'), 'new:b');
    const earlyDone = readAll(early);
    early.end('a');
    assert.equal((await earlyDone).data.toString(), 'old:a');
    assert.throws(() => l.update(listenerConfig({ address: tcp('127.0.0.1', 1) }), d), (e: unknown) => e instanceof SkiffError && e.code === 'E_UPDATE');
  } finally {
    l.closeAll();
  }
});

test('drain() waits for a connection to finish, then force-closes stragglers at the timeout', async () => {
  const l = new ActiveListener(listenerConfig(), deps());
  await l.listen();
  const p = port(l);
  const polite = await connectTo(p);
  const stubborn = await connectTo(p);
  await waitFor(() => l.connectionCount === 2);
  const politeDone = readAll(polite);
  const stubbornDone = readAll(stubborn);
  const started = Date.now();
  const drained = l.drain(300);
  // New connections are refused once draining starts.
  await new Promise((r) => setTimeout(r, 20));
  await assert.rejects(connectTo(p));
  polite.end('bye');
  assert.equal((await politeDone).data.toString(), 'bye');
  await waitFor(() => l.connectionCount === 1);
  await drained;
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 250, `drain returned after ${elapsed} ms, before its timeout`);
  await stubbornDone;
  assert.equal(l.connectionCount, 0);
});

test('socket errors never escape: a reset mid-write closes that connection with reason', async () => {
  const reasons: string[] = [];
  const creator: NetworkFilterCreator = (conn) => {
    conn.addConnectionCallbacks({ onEvent: () => reasons.push(conn.closeReason) });
    conn.addReadFilter({
      onData(data) {
        // Keep writing a lot so the reset lands mid-write.
        if (data.length) for (let i = 0; i < 64; i++) conn.write(Buffer.alloc(64 * 1024, 1));
        return FilterStatus.Stop;
      },
    });
  };
  const l = new ActiveListener(listenerConfig(), deps({ filterCreators: [creator] }));
  await l.listen();
  try {
    const s: Socket = await connectTo(port(l));
    s.on('error', () => {});
    s.write('go');
    await new Promise((r) => s.once('data', r));
    s.resetAndDestroy();
    await waitFor(() => reasons.length === 1, 3000, 'close event');
    assert.ok(['reset', 'EPIPE'].includes(reasons[0] ?? ''), `reason ${reasons[0]}`);
  } finally {
    l.closeAll();
  }
});
