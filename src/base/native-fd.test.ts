import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_RECORD_BYTES, MAX_RECORD_FDS, nativeFd, nativeFdError, type NativeFd } from './native-fd.js';

const dir = mkdtempSync(join(tmpdir(), 'skiff-native-fd-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let seq = 0;
const sockPath = (name: string): string => join(dir, `${name}-${++seq}.sock`);

/** The addon; a test fails (does not skip) when it is missing: `npm install` builds it. */
function nf(): NativeFd {
  assert.ok(nativeFd, `native addon not loaded: ${nativeFdError}`);
  return nativeFd;
}

/** Polls `probe` (the addon has no readiness events) until it yields a value; gives up after 10 s. */
async function waitFor<T>(probe: () => T | undefined, what: () => string): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what()}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** A connected seqpacket pair: c (client end) and s (accepted end), plus the listener. */
function seqpacketPair(): { listener: number; c: number; s: number; closeOne: (fd: number) => void; closeAll: () => void } {
  const n = nf();
  const path = sockPath('pair');
  const listener = n.seqpacketListen(path);
  const c = n.seqpacketConnect(path);
  const s = n.seqpacketAccept(listener); // a unix connect completes at once: the peer is queued
  assert.ok(s >= 0, 'accept right after connect');
  const open = new Set([listener, c, s]);
  return {
    listener, c, s,
    // never close a number twice: the process may have reused it meanwhile
    closeOne: (fd) => { open.delete(fd); n.close(fd); },
    closeAll: () => { for (const fd of open) n.close(fd); open.clear(); },
  };
}

function readLine(socket: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString('utf8');
      const i = buf.indexOf('\n');
      if (i >= 0) { socket.off('data', onData); socket.off('error', reject); resolve(buf.slice(0, i)); }
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

test('listenTcp: a real port, wrapped by Node (server.listen({ fd })) and accepting a connection', async () => {
  const n = nf();
  const fd = n.listenTcp('127.0.0.1', 0, 16);
  const port = n.localPort(fd);
  assert.ok(port > 0 && port < 65536, `port ${port}`);
  assert.equal(n.socketKind(fd), 'tcp');
  const server = net.createServer((s) => s.end('hi from node\n'));
  await new Promise<void>((resolve) => server.listen({ fd }, resolve));
  try {
    const client = net.connect(port, '127.0.0.1');
    assert.equal(await readLine(client), 'hi from node');
    client.destroy();
  } finally {
    server.close(); // the server owns the fd now
  }
});

test('listenTcp: a second listener on the same port throws EADDRINUSE (SO_REUSEADDR is no SO_REUSEPORT)', () => {
  const n = nf();
  const fd = n.listenTcp('127.0.0.1', 0, 16);
  try {
    const port = n.localPort(fd);
    assert.throws(() => n.listenTcp('127.0.0.1', port, 16), (e: NodeJS.ErrnoException) => e.code === 'EADDRINUSE' && e.syscall === 'bind' && e.errno !== undefined && e.errno < 0 && e.message.includes(String(port)));
    assert.throws(() => n.listenTcp('localhost', 0, 16), { code: 'EINVAL' }, 'IP literals only');
    assert.throws(() => n.listenTcp('127.0.0.1', 70000, 16), RangeError);
  } finally {
    n.close(fd);
  }
});

test("listenTcp '::' is dual stack (an IPv4 client reaches it), when the host has IPv6", async (t) => {
  const n = nf();
  let fd: number;
  try {
    fd = n.listenTcp('::', 0, 16);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EAFNOSUPPORT' || code === 'EADDRNOTAVAIL') { t.skip(`no IPv6 here (${code})`); return; }
    throw e;
  }
  const port = n.localPort(fd);
  assert.equal(n.socketKind(fd), 'tcp');
  const server = net.createServer((s) => s.end(`${s.remoteAddress}\n`));
  await new Promise<void>((resolve) => server.listen({ fd }, resolve));
  try {
    const client = net.connect(port, '127.0.0.1');
    assert.equal(await readLine(client), '::ffff:127.0.0.1');
    client.destroy();
  } finally {
    server.close();
  }
});

test('listenUnix: a stream listener Node can serve; socketKind tells tcp / unix / other apart', async () => {
  const n = nf();
  const path = sockPath('stream');
  const fd = n.listenUnix(path, 16);
  assert.equal(n.socketKind(fd), 'unix');
  assert.throws(() => n.localPort(fd), { code: 'EAFNOSUPPORT' });
  const server = net.createServer((s) => s.end('over unix\n'));
  await new Promise<void>((resolve) => server.listen({ fd }, resolve));
  try {
    const client = net.connect(path);
    assert.equal(await readLine(client), 'over unix');
    client.destroy();
  } finally {
    server.close();
  }
  const file = openSync(join(dir, 'plain-file'), 'w');
  try { assert.equal(n.socketKind(file), 'other'); } finally { closeSync(file); }
  const pair = seqpacketPair();
  try { assert.equal(n.socketKind(pair.c), 'other', 'seqpacket is not something net can wrap'); } finally { pair.closeAll(); }
});

test('seqpacket: records keep their boundaries (1 B, 1000 B, 64 KiB in; the same three out)', () => {
  const n = nf();
  const { c, s, closeAll } = seqpacketPair();
  try {
    assert.equal(n.recvRecord(s), null, 'nothing pending');
    const records = [Buffer.from([0xab]), Buffer.alloc(1000, 0x31), Buffer.alloc(MAX_RECORD_BYTES)];
    for (let i = 0; i < records[2]!.length; i++) records[2]![i] = (i * 7) & 0xff;
    for (const r of records) assert.equal(n.sendRecord(c, r, []), true);
    for (const r of records) {
      const got = n.recvRecord(s);
      assert.ok(got, 'a record');
      assert.equal(got.eof, false);
      assert.deepEqual(got.fds, []);
      assert.equal(got.data.length, r.length);
      assert.ok(got.data.equals(r), `record of ${r.length} bytes intact`);
    }
    assert.equal(n.recvRecord(s), null, 'exactly three');
    // the channel is two-way
    assert.equal(n.sendRecord(s, new Uint8Array([1, 2, 3]), []), true);
    assert.deepEqual([...n.recvRecord(c)!.data], [1, 2, 3]);
  } finally {
    closeAll();
  }
});

// The child imports the compiled loader by absolute URL, takes a live connection and a listener over
// the seqpacket channel, and answers on them; it exits when the parent hangs up (EOF).
const CHILD = `
import net from 'node:net';
const { nativeFd: nf, nativeFdError } = await import(process.argv[2]);
if (!nf) throw new Error(nativeFdError);
const ch = nf.seqpacketConnect(process.argv[3]);
const send = (o) => { if (!nf.sendRecord(ch, Buffer.from(JSON.stringify(o)), [])) throw new Error('control channel full'); };
const held = [];
const poll = () => {
  for (;;) {
    const r = nf.recvRecord(ch);
    if (r === null) { setTimeout(poll, 2); return; }
    if (r.eof) { for (const h of held) h.close ? h.close() : h.destroy(); nf.close(ch); return; }
    const msg = JSON.parse(r.data.toString());
    if (r.fds.length !== 1) throw new Error('expected one fd, got ' + r.fds.length);
    const fd = r.fds[0];
    const kind = nf.socketKind(fd);
    if (msg.kind === 'conn') {
      const sock = new net.Socket({ fd, readable: true, writable: true });
      held.push({ close: () => sock.destroy() });
      let buf = '';
      sock.on('data', (d) => {
        buf += d.toString();
        for (let i; (i = buf.indexOf('\\n')) >= 0; buf = buf.slice(i + 1)) sock.write('echo ' + buf.slice(0, i) + ' pid=' + process.pid + ' remotePort=' + sock.remotePort + '\\n');
      });
      send({ kind: 'conn-ready', socketKind: kind, remotePort: sock.remotePort });
    } else if (msg.kind === 'listener') {
      const srv = net.createServer((c) => c.end('accepted by ' + process.pid + '\\n'));
      held.push(srv);
      srv.listen({ fd }, () => send({ kind: 'listener-ready', socketKind: kind, port: srv.address().port }));
    }
  }
};
poll();
`;

test('fds cross processes: a live TCP connection and a listener move to an unrelated child over SCM_RIGHTS', async () => {
  const n = nf();
  const childFile = join(dir, 'child.mjs');
  writeFileSync(childFile, CHILD);
  const ctlPath = sockPath('ctl');
  const ctlListener = n.seqpacketListen(ctlPath);
  const child = spawn(process.execPath, [childFile, new URL('./native-fd.js', import.meta.url).href, ctlPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let childOut = '';
  child.stdout.on('data', (d: Buffer) => { childOut += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { childOut += d.toString(); });
  const exited = once(child, 'exit');
  const why = (): string => `child exit=${child.exitCode} output: ${childOut}`;
  let ctl = -1;
  const server = net.createServer();
  const clients: net.Socket[] = [];
  try {
    ctl = await waitFor(() => { if (child.exitCode !== null) throw new Error(why()); const fd = n.seqpacketAccept(ctlListener); return fd >= 0 ? fd : undefined; }, why);
    const recvJson = async (): Promise<Record<string, unknown>> => {
      const r = await waitFor(() => n.recvRecord(ctl) ?? undefined, why);
      assert.equal(r.eof, false, `child hung up: ${why()}`);
      return JSON.parse(r.data.toString()) as Record<string, unknown>;
    };

    // A listener made here by listenTcp, served by Node; one client connects.
    const lfd = n.listenTcp('127.0.0.1', 0, 16);
    const port = n.localPort(lfd);
    const accepted = once(server, 'connection') as Promise<[net.Socket]>;
    await new Promise<void>((resolve) => server.listen({ fd: lfd }, resolve));
    const client = net.connect(port, '127.0.0.1');
    clients.push(client);
    await once(client, 'connect');
    const [ours] = await accepted;
    const connFd = (ours as unknown as { _handle: { fd: number } })._handle.fd;
    assert.ok(Number.isInteger(connFd) && connFd > 2, `accepted fd ${connFd}`);

    // Hand the connection over, then drop our copy: closing one of two references sends nothing.
    assert.equal(n.sendRecord(ctl, Buffer.from(JSON.stringify({ kind: 'conn' })), [connFd]), true);
    ours.destroy();
    const connReady = await recvJson();
    assert.deepEqual(connReady, { kind: 'conn-ready', socketKind: 'tcp', remotePort: client.localPort });
    client.write('hello\n');
    assert.equal(await readLine(client), `echo hello pid=${child.pid} remotePort=${client.localPort}`, 'the same connection, now served by the child');
    client.write('again\n');
    assert.equal(await readLine(client), `echo again pid=${child.pid} remotePort=${client.localPort}`);

    // Hand the listener over, then close ours: from then on only the child can accept.
    assert.equal(n.sendRecord(ctl, Buffer.from(JSON.stringify({ kind: 'listener' })), [lfd]), true);
    server.close();
    assert.deepEqual(await recvJson(), { kind: 'listener-ready', socketKind: 'tcp', port });
    for (let i = 0; i < 3; i++) {
      const c2 = net.connect(port, '127.0.0.1');
      clients.push(c2);
      assert.equal(await readLine(c2), `accepted by ${child.pid}`);
    }
  } finally {
    for (const c of clients) c.destroy();
    server.close();
    if (ctl >= 0) n.close(ctl); // EOF tells the child to close everything and exit
    n.close(ctlListener);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  assert.equal(child.exitCode, 0, why());
});

test('flow: null when empty; false when the peer queue is full (nothing sent), true again after draining; eof; EPIPE', () => {
  const n = nf();
  const { c, s, closeOne, closeAll } = seqpacketPair();
  try {
    assert.equal(n.recvRecord(s), null);
    const record = Buffer.alloc(60 * 1024);
    let sent = 0;
    for (; sent < 100_000; sent++) {
      record.writeUInt32BE(sent, 0);
      if (!n.sendRecord(c, record, [])) break;
    }
    assert.ok(sent > 0 && sent < 100_000, `queue filled after ${sent} records`);
    for (let i = 0; i < sent; i++) {
      const r = n.recvRecord(s);
      assert.ok(r && !r.eof && r.data.length === record.length, `record ${i}`);
      assert.equal(r.data.readUInt32BE(0), i, 'in order, and the refused one was not sent');
    }
    assert.equal(n.recvRecord(s), null, 'drained');
    record.writeUInt32BE(4242, 0);
    assert.equal(n.sendRecord(c, record, []), true, 'room again');
    assert.equal(n.recvRecord(s)?.data.readUInt32BE(0), 4242);

    assert.equal(n.sendRecord(c, Buffer.from('last'), []), true);
    closeOne(c);
    assert.equal(n.recvRecord(s)?.data.toString(), 'last', 'data queued before the close still arrives');
    assert.deepEqual(n.recvRecord(s), { data: Buffer.alloc(0), fds: [], eof: true });
    assert.throws(() => n.sendRecord(s, Buffer.from('x'), []), (e: NodeJS.ErrnoException) => e.code === 'EPIPE' && e.syscall === 'sendmsg');
  } finally {
    closeAll();
  }
});

test('fds: 64 fds in one record arrive as 64 new fds for the same socket; the sender keeps its own', () => {
  const n = nf();
  const { c, s, closeAll } = seqpacketPair();
  const lfd = n.listenTcp('127.0.0.1', 0, 4);
  try {
    const port = n.localPort(lfd);
    assert.equal(n.sendRecord(c, Buffer.from('many'), new Array<number>(MAX_RECORD_FDS).fill(lfd)), true);
    const r = n.recvRecord(s);
    assert.ok(r);
    assert.equal(r.data.toString(), 'many');
    assert.equal(r.fds.length, MAX_RECORD_FDS);
    assert.equal(new Set(r.fds).size, MAX_RECORD_FDS, 'distinct fds');
    for (const fd of r.fds) {
      assert.notEqual(fd, lfd);
      assert.equal(n.localPort(fd), port, 'the same listening socket');
      n.close(fd);
    }
    assert.equal(n.localPort(lfd), port, 'the sender still holds its fd');
  } finally {
    n.close(lfd);
    closeAll();
  }
});

test('bad input throws (never crashes): EBADF, 65 fds, > 64 KiB, empty record, wrong types, bad paths', () => {
  const n = nf();
  assert.throws(() => n.close(-1), (e: NodeJS.ErrnoException) => e.code === 'EBADF' && e.syscall === 'close');
  const { listener, c, s, closeAll } = seqpacketPair();
  try {
    assert.throws(() => n.sendRecord(c, Buffer.from('x'), new Array<number>(MAX_RECORD_FDS + 1).fill(c)), { code: 'EINVAL' });
    assert.throws(() => n.sendRecord(c, Buffer.alloc(MAX_RECORD_BYTES + 1), []), { code: 'EMSGSIZE' });
    assert.throws(() => n.sendRecord(c, Buffer.alloc(0), []), { code: 'EINVAL' }, 'an empty record would read as EOF');
    assert.throws(() => n.sendRecord(c, 'text' as unknown as Uint8Array, []), TypeError);
    assert.throws(() => n.sendRecord(c, new Uint16Array(4) as unknown as Uint8Array, []), TypeError);
    assert.throws(() => n.sendRecord(c, Buffer.from('x'), [1.5]), RangeError);
    assert.throws(() => n.sendRecord(c, Buffer.from('x'), 3 as unknown as number[]), TypeError);
    assert.throws(() => n.sendRecord(c, Buffer.from('x'), [999_999]), { code: 'EBADF' }, 'a closed fd in the list');
    assert.equal(n.recvRecord(s), null, 'nothing was sent by the refused calls');
    assert.throws(() => n.recvRecord(-1), { code: 'EBADF' });
    assert.throws(() => (n.listenTcp as unknown as () => number)(), TypeError);
    assert.throws(() => n.socketKind(999_999), { code: 'EBADF' });
    assert.throws(() => n.seqpacketAccept(c), { code: 'EINVAL' }, 'accept on a connected socket');
    void listener;
  } finally {
    closeAll();
  }
  assert.throws(() => n.seqpacketConnect(join(dir, 'nobody-here.sock')), (e: NodeJS.ErrnoException) => e.code === 'ENOENT' && e.syscall === 'connect');
  assert.throws(() => n.seqpacketConnect(join(dir, 'x'.repeat(200))), { code: 'ENAMETOOLONG' });
  assert.throws(() => n.seqpacketConnect(`${dir}/a\0b`), { code: 'EINVAL' });

  // A socket file whose listener is gone: connect is refused; seqpacketListen replaces it.
  const stale = sockPath('stale');
  n.close(n.seqpacketListen(stale));
  assert.ok(existsSync(stale));
  assert.throws(() => n.seqpacketConnect(stale), { code: 'ECONNREFUSED' });
  const again = n.seqpacketListen(stale);
  const cc = n.seqpacketConnect(stale);
  n.close(cc);
  n.close(again);
  // …but never a regular file.
  const regular = join(dir, 'not-a-socket');
  writeFileSync(regular, 'keep me');
  assert.throws(() => n.seqpacketListen(regular), { code: 'EADDRINUSE' });
  assert.ok(existsSync(regular));
});
