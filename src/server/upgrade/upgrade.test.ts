import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SkiffConfig } from '../../api/config.js';
import { ControlChannel, emptyStatus, reconfigSocketPath, type ControlMessage } from './control.js';
import { UpgradeListener, type HandoverHost } from './handover.js';
import { matchSockets, sumByKey } from './takeover.js';
import { decodeRecord, encodeConnData, encodeRecord, RecordType } from './xfer.js';
import { nativeFd } from '../../base/native-fd.js';

const silent = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, fatal() {}, child() { return silent; } } as never;

test('xfer records: round trip, continuation records, malformed ones rejected', () => {
  const r = decodeRecord(encodeRecord(RecordType.Conn, { id: 7, listener: 'l1' }, Buffer.from('abc')), [5]);
  assert.equal(r.type, RecordType.Conn);
  assert.deepEqual(r.json, { id: 7, listener: 'l1' });
  assert.equal(r.bytes.toString(), 'abc');
  assert.deepEqual(r.fds, [5]);
  const d = decodeRecord(encodeConnData(0xfffffffe, Buffer.from('tail')), []);
  assert.equal(d.type, RecordType.ConnData);
  assert.equal(d.json['id'], 0xfffffffe);
  assert.equal(d.bytes.toString(), 'tail');
  assert.throws(() => decodeRecord(Buffer.from([1, 0, 0]), []), /short/);
  const bad = encodeRecord(RecordType.Conn, { a: 1 });
  bad.writeUInt32BE(1000, 1);
  assert.throws(() => decodeRecord(bad, []), /length/);
  assert.throws(() => decodeRecord(encodeRecord(RecordType.Conn, [1, 2]), []), /header/);
  const notJson = Buffer.concat([Buffer.from([1, 0, 0, 0, 3]), Buffer.from('{x}')]);
  assert.throws(() => decodeRecord(notJson, []));
});

test('reconfig socket name: one per config file (by real path), so two Skiffs in one folder never meet', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-up-'));
  try {
    writeFileSync(join(dir, 'a.json'), '{}');
    writeFileSync(join(dir, 'b.json'), '{}');
    symlinkSync(join(dir, 'a.json'), join(dir, 'link.json'));
    const a = reconfigSocketPath(dir, join(dir, 'a.json'));
    assert.match(a, /skiff-[0-9a-f]{12}\.reconfig\.sock$/);
    assert.equal(reconfigSocketPath(dir, join(dir, 'link.json')), a, 'a symlink to the same file is the same config');
    assert.equal(reconfigSocketPath(dir, join(dir, '.', 'a.json')), a);
    assert.notEqual(reconfigSocketPath(dir, join(dir, 'b.json')), a);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const tcp = (host: string, port: number) => ({ kind: 'tcp' as const, host, port, text: `${host}:${port}` });

test('matchSockets: bound address, configured address (port 0 only with the same name), admin apart, the rest unused', () => {
  const config = {
    server: {
      listeners: [
        { name: 'fixed', address: tcp('127.0.0.1', 2045), bindPort: true },
        { name: 'eph', address: tcp('127.0.0.1', 0), bindPort: true },
        { name: 'renamed-eph', address: tcp('127.0.0.1', 0), bindPort: true },
        { name: 'virtual', address: tcp('0.0.0.0', 15001), bindPort: false },
      ],
    },
    admin: { address: tcp('127.0.0.1', 0) },
  } as unknown as SkiffConfig;
  const sockets = [
    { name: 'old-fixed', configAddress: '127.0.0.1:2045', boundAddress: '127.0.0.1:2045', admin: false, fd: 10 },
    { name: 'eph', configAddress: '127.0.0.1:0', boundAddress: '127.0.0.1:40001', admin: false, fd: 11 },
    { name: 'other-eph', configAddress: '127.0.0.1:0', boundAddress: '127.0.0.1:40002', admin: false, fd: 12 },
    { name: 'virtual', configAddress: '0.0.0.0:15001', boundAddress: '0.0.0.0:15001', admin: false, fd: 13 },
    { name: '', configAddress: '127.0.0.1:0', boundAddress: '127.0.0.1:40003', admin: true, fd: 14 },
  ];
  const m = matchSockets(config, sockets);
  assert.deepEqual([...m.listenerFds], [['fixed', 10], ['eph', 11]]);
  assert.equal(m.adminFd, 14, 'the admin socket goes to the admin, even on port 0');
  assert.deepEqual(m.unused.sort(), [12, 13], 'a port-0 socket of another name, and one for a listener that binds nothing, are closed');
  assert.equal(m.names.get('old-fixed'), 'fixed', 'connections of a renamed listener find the new name');
});

test('control channel: JSON lines in pieces; a malformed line ends the conversation with a reason', async () => {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const got: ControlMessage[] = [];
  const ended = new Promise<string>((resolve) => {
    server.once('connection', (s) => { new ControlChannel(s, (m) => got.push(m), resolve); });
  });
  const c = net.connect(port, '127.0.0.1');
  await new Promise((r) => c.once('connect', r));
  c.write('{"t":"hel');
  c.write('lo","pid":1}\n\n{"t":"x"}\n');
  c.write('not json\n');
  assert.equal(await ended, 'malformed control message');
  assert.deepEqual(got.map((m) => m.t), ['hello', 'x']);
  c.destroy();
  server.close();
});

test('the reconfig socket refuses garbage, a stranger config and a second upgrade, and the old process is untouched', { skip: nativeFd === undefined ? 'native addon not built' : false }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-up-'));
  let released = 0;
  const host: HandoverHost = {
    logger: silent, version: 'test', gracefulTimeoutMs: 1000, configIdentity: '/etc/skiff/a.json', status: emptyStatus(),
    counters: () => Promise.resolve([]), canHandOver: () => true, listeningSockets: () => [], adminSocket: () => undefined,
    releaseListeners: () => { released++; return Promise.resolve(); }, resumeListeners: () => Promise.resolve(),
    migrate: () => Promise.resolve({ migrated: 0, drained: 0, closed: 0 }), enterUpgrading() {}, exitAfterHandover() { throw new Error('must not exit'); },
  };
  const l = new UpgradeListener(host, join(dir, 'r.sock'));
  await l.listen();
  const talk = (lines: string[]): Promise<ControlMessage[]> => new Promise((resolve) => {
    const s = net.connect({ path: l.path });
    const out: ControlMessage[] = [];
    new ControlChannel(s, (m) => out.push(m), () => resolve(out));
    s.once('connect', () => { for (const x of lines) s.write(x); });
  });
  try {
    assert.deepEqual(await talk(['\x16\x03\x01garbage\n']), [], 'garbage: the conversation just ends');
    const stranger = await talk([`${JSON.stringify({ t: 'hello', pid: 1, configPath: '/etc/skiff/b.json', xfer: '/nonexistent' })}\n`]);
    assert.equal(stranger[0]?.t, 'refuse');
    assert.match(String(stranger[0]?.['reason']), /serves \/etc\/skiff\/a\.json.*--takeover/);
    const noXfer = await talk([`${JSON.stringify({ t: 'hello', pid: 1, configPath: '/etc/skiff/a.json', xfer: join(dir, 'missing.sock') })}\n`]);
    assert.equal(noXfer.find((m) => m.t === 'abort')?.t, 'abort', 'an unreachable transfer socket aborts the upgrade');
    assert.equal(host.status.state, 'failed');
    assert.equal(released, 0, 'the old process never stopped accepting');
  } finally {
    l.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('counter entries are summed per metric (one entry per worker), whatever the label order', () => {
  const l1 = { listener: 'a', proxy: 'x' };
  const l2 = { proxy: 'x', listener: 'a' };
  const sums = sumByKey([
    { type: 'downstream', labels: l1, key: 'request_total', value: 10 },
    { type: 'downstream', labels: l2, key: 'request_total', value: 32 },
    { type: 'downstream', labels: l1, key: 'connection_total', value: 3 },
    { type: 'downstream', labels: l1, key: 'request_total', value: Number.NaN },
  ]);
  assert.deepEqual([...sums.values()].map((e) => [e.key, e.value]), [['request_total', 42], ['connection_total', 3]]);
});
