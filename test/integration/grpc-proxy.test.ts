// gRPC through Skiff (issue 5, item 3): a real grpc-js client → Skiff (Http2 listener, HTTP/2 upstream by
// default) → a real grpc-js server, over sockets on 127.0.0.1. The four call kinds, a long bidi stream,
// statuses and metadata passed through unchanged, deadlines (the client's, and Skiff's route timeout
// answered as grpc-status 4), cancellation reaching the server as RST_STREAM, an upstream that is down
// answered as grpc-status 14, and many concurrent calls multiplexed over one client connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server as NetServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { l7Document, startSkiff, type SkiffInProcess } from '../fakes/l7-harness.js';
import { closedPort } from '../fakes/scripted-origin.js';
import { collect, EchoClient, GrpcPeer, Metadata, Status } from '../fakes/grpc-peer.js';

interface Rig {
  readonly peer: GrpcPeer;
  readonly skiff: SkiffInProcess;
  readonly client: EchoClient;
  close(): Promise<void>;
}

interface RigOptions {
  /** Route timeout (MOSN duration string). */
  readonly routeTimeout?: string;
  /** Cluster connect_timeout (default 1s). */
  readonly connectTimeout?: string;
  /** Cluster hosts instead of the peer. */
  readonly hosts?: readonly string[];
  /** The client dials this instead of Skiff's port (a relay in front of it). */
  readonly clientAddress?: (skiffPort: number) => Promise<string>;
}

async function rig(o: RigOptions = {}): Promise<Rig> {
  const peer = await GrpcPeer.start();
  let skiff: SkiffInProcess;
  try {
    skiff = await startSkiff(l7Document({
      clusters: { grpc: o.hosts ?? [peer.address] },
      proxy: { downstream_protocol: 'Http2' },
      cluster: { connect_timeout: o.connectTimeout ?? '1s' },
      virtualHosts: [{ name: 'all', domains: ['*'], routers: [{ match: { prefix: '/' }, route: { cluster_name: 'grpc', ...(o.routeTimeout !== undefined ? { timeout: o.routeTimeout } : {}) } }] }],
    }));
  } catch (err) {
    await peer.close();
    throw err;
  }
  const address = o.clientAddress !== undefined ? await o.clientAddress(skiff.port()) : `127.0.0.1:${skiff.port()}`;
  const client = new EchoClient(address);
  return {
    peer, skiff, client,
    async close() {
      client.close();
      await skiff.close();
      await peer.close();
    },
  };
}

/** A TCP relay that counts the connections it accepts (to see how many connections a client opened). */
interface CountingRelay {
  readonly port: number;
  readonly accepted: number;
  close(): Promise<void>;
}

async function countingRelay(targetPort: number): Promise<CountingRelay> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: NetServer = createServer((down) => {
    accepted++;
    const up = connect(targetPort, '127.0.0.1');
    sockets.add(down); sockets.add(up);
    down.pipe(up); up.pipe(down);
    const end = (): void => { down.destroy(); up.destroy(); sockets.delete(down); sockets.delete(up); };
    down.on('error', end); up.on('error', end); down.on('close', end); up.on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get accepted() { return accepted; },
    close: () => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
}

const md = EchoClient.metadata;

function payloadOf(n: number, seed = 0): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + seed) & 0xff;
  return b;
}

test('unary: the request bytes come back, status OK, initial metadata from the server', async () => {
  const r = await rig();
  try {
    const payload = Buffer.from([0, 1, 2, 3, 0xfe, 0xff, 0x80, 0x7f]);
    const res = await r.client.unary(payload);
    assert.equal(res.error, undefined, res.error?.message);
    assert.equal(res.status.code, Status.OK);
    assert.deepEqual(res.value, payload);
    assert.deepEqual(res.headers?.get('x-peer-method'), ['unary']);
    assert.equal(r.peer.calls.length, 1);
    assert.equal(r.peer.cancels.length, 0, 'a completed call is not reset upstream');
  } finally {
    await r.close();
  }
});

test('server streaming: every message in order, then status OK', async () => {
  const r = await rig();
  try {
    const res = await collect(r.client.serverStream(Buffer.from('s'), { metadata: md({ 'x-peer-count': '25' }) }));
    assert.equal(res.error, undefined, res.error?.message);
    assert.equal(res.status.code, Status.OK);
    assert.deepEqual(res.value?.map((b) => b.toString()), Array.from({ length: 25 }, (_, i) => `s#${i}`));
  } finally {
    await r.close();
  }
});

test('client streaming: the server gets every message and answers once', async () => {
  const r = await rig();
  try {
    const messages = Array.from({ length: 40 }, (_, i) => Buffer.from(`m${i};`));
    const res = await r.client.clientStream(messages);
    assert.equal(res.error, undefined, res.error?.message);
    assert.equal(res.status.code, Status.OK);
    assert.equal(res.value?.readUInt32BE(0), 40);
    assert.equal(res.value?.subarray(4).toString(), messages.map((m) => m.toString()).join(''));
  } finally {
    await r.close();
  }
});

test('bidi: ping-pong, each echo arrives before the next message is sent (no request buffering in Skiff)', async () => {
  const r = await rig();
  try {
    const call = r.client.bidi();
    const received: string[] = [];
    let waiting: ((m: string) => void) | undefined;
    call.on('data', (m: Buffer) => { received.push(m.toString()); waiting?.(m.toString()); });
    const done = collect(call);
    for (let i = 0; i < 20; i++) {
      const echoed = new Promise<string>((resolve) => { waiting = resolve; });
      call.write(Buffer.from(`ping ${i}`));
      assert.equal(await echoed, `ping ${i}`);
    }
    call.end();
    const res = await done;
    assert.equal(res.status.code, Status.OK, res.status.details);
    assert.equal(received.length, 20);
  } finally {
    await r.close();
  }
});

test('bidi: 10,000 messages on one stream, all echoed in order', async () => {
  const r = await rig();
  try {
    const N = 10_000;
    const call = r.client.bidi();
    let next = 0;
    let bad: string | undefined;
    call.on('data', (m: Buffer) => {
      const i = m.readUInt32BE(0);
      if (i !== next && bad === undefined) bad = `message ${next} expected, got ${i}`;
      if (m.length !== 64 && bad === undefined) bad = `message ${i} has ${m.length} bytes`;
      next++;
    });
    const done = collect(call);
    for (let i = 0; i < N; i++) {
      const m = Buffer.alloc(64, i & 0xff);
      m.writeUInt32BE(i, 0);
      if (!call.write(m)) await new Promise((resolve) => call.once('drain', resolve));
    }
    call.end();
    const res = await done;
    assert.equal(res.status.code, Status.OK, res.status.details);
    assert.equal(bad, undefined);
    assert.equal(next, N);
    assert.equal(r.peer.cancels.length, 0);
  } finally {
    await r.close();
  }
});

test('large messages: a 3 MB unary request and response, and 1 MB bidi messages, through HTTP/2 flow control both ways', async () => {
  const r = await rig();
  try {
    const big = payloadOf(3_000_000);
    const res = await r.client.unary(big);
    assert.equal(res.status.code, Status.OK, res.status.details);
    assert.ok(res.value?.equals(big), 'the 3 MB echo is intact');
    const call = r.client.bidi();
    const done = collect(call);
    const msgs = [payloadOf(1_000_000, 1), payloadOf(1_000_000, 2), payloadOf(1_000_000, 3)];
    for (const m of msgs) call.write(m);
    call.end();
    const b = await done;
    assert.equal(b.status.code, Status.OK, b.status.details);
    assert.equal(b.value?.length, 3);
    b.value?.forEach((v, i) => assert.ok(v.equals(msgs[i]!), `message ${i} intact`));
  } finally {
    await r.close();
  }
});

test('a server error status, its message and its trailing metadata reach the client unchanged', async () => {
  const r = await rig();
  try {
    const message = 'denied: ünïcödé 100% "quoted" \u2713';
    const res = await r.client.unary(Buffer.from('x'), { metadata: md({ 'x-peer-fail-code': String(Status.PERMISSION_DENIED), 'x-peer-fail-message-bin': Buffer.from(message) }) });
    assert.equal(res.status.code, Status.PERMISSION_DENIED);
    assert.equal(res.status.details, message);
    assert.deepEqual(res.status.metadata.get('x-peer-trailer'), ['done']);
    // The same from a streaming call, whose status follows data messages.
    const s = await collect(r.client.serverStream(Buffer.from('s'), { metadata: md({ 'x-peer-count': '2', 'x-peer-fail-code': String(Status.RESOURCE_EXHAUSTED), 'x-peer-fail-message': 'too much' }) }));
    assert.equal(s.status.code, Status.RESOURCE_EXHAUSTED);
    assert.equal(s.status.details, 'too much');
    assert.deepEqual(s.value?.map((b) => b.toString()), ['s#0', 's#1']);
  } finally {
    await r.close();
  }
});

test('metadata: request metadata (text, repeated, binary) reaches the server; initial and trailing metadata reach the client', async () => {
  const r = await rig();
  try {
    const bin = Buffer.from([0, 0xff, 0x10, 0x80, 0x0a]);
    const request = new Metadata();
    request.add('x-echo-a', 'value-a');
    request.add('x-echo-b-bin', bin);
    request.add('x-multi', 'one');
    request.add('x-multi', 'two');
    const res = await r.client.unary(Buffer.from('p'), { metadata: request });
    assert.equal(res.status.code, Status.OK, res.status.details);
    const seen = r.peer.calls[0]!.metadata;
    assert.deepEqual(seen.get('x-echo-a'), ['value-a']);
    assert.deepEqual(seen.get('x-echo-b-bin'), [bin]);
    assert.deepEqual(seen.get('x-multi').map(String).join(',').split(/,\s*/), ['one', 'two']);
    assert.deepEqual(res.headers?.get('x-peer-saw-a'), ['value-a']);
    assert.deepEqual(res.headers?.get('x-peer-saw-b-bin'), [bin]);
    assert.deepEqual(res.status.metadata.get('x-peer-trailer'), ['done']);
    assert.deepEqual(res.status.metadata.get('x-peer-trailer-bin'), [Buffer.from([0, 1, 2, 0xff])]);
    // Trailers after a body (server streaming): HEADERS, DATA…, trailing HEADERS.
    const s = await collect(r.client.serverStream(Buffer.from('t'), { metadata: md({ 'x-echo-z': 'zz', 'x-peer-count': '3' }) }));
    assert.equal(s.status.code, Status.OK, s.status.details);
    assert.deepEqual(s.headers?.get('x-peer-saw-z'), ['zz']);
    assert.deepEqual(s.status.metadata.get('x-peer-trailer'), ['done']);
    assert.deepEqual(s.status.metadata.get('x-peer-trailer-bin'), [Buffer.from([0, 1, 2, 0xff])]);
  } finally {
    await r.close();
  }
});

test('deadline: client deadline 200 ms, server sleeps 2 s → DEADLINE_EXCEEDED well before the server answers; the server call is cancelled', async () => {
  const r = await rig();
  try {
    const t0 = Date.now();
    const res = await r.client.unary(Buffer.from('slow'), { deadlineMs: 200, metadata: md({ 'x-peer-delay-ms': '2000' }) });
    const elapsed = Date.now() - t0;
    assert.equal(res.status.code, Status.DEADLINE_EXCEEDED, res.status.details);
    assert.ok(elapsed < 1500, `answered after ${elapsed} ms (the server would answer at 2000 ms)`);
    // The server saw the deadline (grpc-timeout passed through) or Skiff's RST: either way its call ends.
    await r.peer.waitForCancels(1, 3000);
  } finally {
    await r.close();
  }
});

test('route timeout 200 ms, no client deadline → grpc-status 4 from Skiff, and the upstream call is reset', async () => {
  const r = await rig({ routeTimeout: '200ms' });
  try {
    const t0 = Date.now();
    const res = await r.client.unary(Buffer.from('slow'), { metadata: md({ 'x-peer-delay-ms': '2000' }) });
    const elapsed = Date.now() - t0;
    assert.equal(res.status.code, Status.DEADLINE_EXCEEDED, res.status.details);
    assert.match(res.status.details, /upstream request timeout/, 'the message is Skiff\'s local reply');
    assert.ok(elapsed < 1500, `answered after ${elapsed} ms (the server would answer at 2000 ms)`);
    await r.peer.waitForCancels(1, 1500);
  } finally {
    await r.close();
  }
});

test('route timeout covers the wait for the response head only (MOSN): a server stream that started answering runs past it', async () => {
  const r = await rig({ routeTimeout: '200ms' });
  try {
    const t0 = Date.now();
    const res = await collect(r.client.serverStream(Buffer.from('l'), { metadata: md({ 'x-peer-count': '5', 'x-peer-delay-ms': '100' }) }));
    assert.equal(res.status.code, Status.OK, res.status.details);
    assert.equal(res.value?.length, 5);
    assert.ok(Date.now() - t0 >= 400, 'the stream outlived the route timeout');
    assert.equal(r.peer.cancels.length, 0);
  } finally {
    await r.close();
  }
});

test('cancel: the client cancels a bidi call → the server sees the cancellation promptly', async () => {
  const r = await rig();
  try {
    const call = r.client.bidi();
    const done = collect(call);
    const first = new Promise<Buffer>((resolve) => call.once('data', resolve));
    call.write(Buffer.from('hello'));
    assert.equal((await first).toString(), 'hello');
    assert.equal(r.peer.cancels.length, 0);
    call.cancel();
    const res = await done;
    assert.equal(res.status.code, Status.CANCELLED);
    await r.peer.waitForCancels(1, 2000);
    assert.equal(r.peer.cancels[0]!.method, 'bidi');
  } finally {
    await r.close();
  }
});

test('cancel: the client cancels an endless server stream → the server sees the cancellation and stops', async () => {
  const r = await rig();
  try {
    const call = r.client.serverStream(Buffer.from('e'), { metadata: md({ 'x-peer-count': '-1' }) });
    const done = collect(call);
    let got = 0;
    await new Promise<void>((resolve) => call.on('data', () => { if (++got === 5) resolve(); }));
    call.cancel();
    const res = await done;
    assert.equal(res.status.code, Status.CANCELLED);
    await r.peer.waitForCancels(1, 2000);
    assert.equal(r.peer.cancels[0]!.method, 'serverStream');
  } finally {
    await r.close();
  }
});

test('upstream down → UNAVAILABLE (14) promptly, as a trailers-only reply from Skiff', async () => {
  const r = await rig({ hosts: [`127.0.0.1:${await closedPort()}`], connectTimeout: '5s' });
  try {
    const t0 = Date.now();
    const res = await r.client.unary(Buffer.from('x'));
    const elapsed = Date.now() - t0;
    assert.equal(res.status.code, Status.UNAVAILABLE, res.status.details);
    assert.ok(elapsed < 2500, `answered after ${elapsed} ms (a refused connect is immediate, not the 5 s connect_timeout)`);
    assert.match(res.status.details, /upstream connect error/);
    assert.equal(r.peer.calls.length, 0);
    // A streaming call too.
    const s = await collect(r.client.bidi());
    assert.equal(s.status.code, Status.UNAVAILABLE, s.status.details);
  } finally {
    await r.close();
  }
});

test('240 concurrent calls of all kinds (more than Skiff\'s 100 streams per connection) over one client connection, each answered with its own data', async () => {
  let relay: CountingRelay | undefined;
  const r = await rig({ clientAddress: async (port) => { relay = await countingRelay(port); return `127.0.0.1:${relay.port}`; } });
  try {
    const N = 240;
    const calls: Promise<void>[] = [];
    for (let i = 0; i < N; i++) {
      const payload = Buffer.from(`call-${i}`);
      // Spread completion order: later calls answer first.
      const delay = String((N - i) % 7 * 10);
      switch (i % 4) {
        case 0: calls.push(r.client.unary(payload, { metadata: md({ 'x-peer-delay-ms': delay }) }).then((res) => {
          assert.equal(res.status.code, Status.OK, res.status.details);
          assert.deepEqual(res.value, payload);
        })); break;
        case 1: calls.push(collect(r.client.serverStream(payload, { metadata: md({ 'x-peer-count': '4' }) })).then((res) => {
          assert.equal(res.status.code, Status.OK, res.status.details);
          assert.deepEqual(res.value?.map(String), [0, 1, 2, 3].map((k) => `call-${i}#${k}`));
        })); break;
        case 2: calls.push(r.client.clientStream([payload, payload], { metadata: md({ 'x-peer-delay-ms': delay }) }).then((res) => {
          assert.equal(res.status.code, Status.OK, res.status.details);
          assert.equal(res.value?.subarray(4).toString(), `call-${i}call-${i}`);
        })); break;
        default: {
          const call = r.client.bidi();
          calls.push(collect(call).then((res) => {
            assert.equal(res.status.code, Status.OK, res.status.details);
            assert.deepEqual(res.value?.map(String), [`call-${i}`, `call-${i}!`]);
          }));
          call.write(payload);
          call.write(Buffer.from(`call-${i}!`));
          call.end();
        }
      }
    }
    await Promise.all(calls);
    assert.equal(r.peer.calls.length, N);
    assert.equal(relay!.accepted, 1, 'grpc-js multiplexed every call over one connection to Skiff');
  } finally {
    await r.close();
    await relay?.close();
  }
});
