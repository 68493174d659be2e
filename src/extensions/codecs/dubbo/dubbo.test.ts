import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { DetectResult } from '../../../api/protocol.js';
import { XFrameKind, XLocalStatus, type XDecodeResult, type XFrame } from '../../../api/xprotocol.js';
import {
  DUBBO_HEADER_BYTES,
  DubboCodec,
  DubboStatus,
  dubboStatusOf,
  dubboValueBody,
  encodeDubboFrame,
  encodeDubboRequest,
  encodeDubboResponse,
  type DubboRequestMessage,
} from './dubbo.js';
import { Hessian2Writer } from './hessian2-writer.js';

const require = createRequire(import.meta.url);
const hessian = require('hessian.js') as { encode(v: unknown, version: string): Buffer; decode(b: Buffer, version: string): unknown };
type Wrap = (v: unknown) => unknown;
interface JavaFn {
  (cls: string, v: unknown): unknown;
  String: Wrap;
  int: Wrap;
  long: Wrap;
  array: ((cls: string, v: unknown[]) => unknown) & { int: (v: unknown[]) => unknown };
}
const java = require('js-to-java') as JavaFn;
const dubboJsDecode = (require('apache-dubbo-js/es7/decode.js') as { decode(b: Buffer): { err: Error | null; res: unknown; requestId: number } }).decode;
const DubboJsHeartBeat = (require('apache-dubbo-js/es7/heartbeat.js') as { default: { encode(): Buffer; isHeartBeat(b: Buffer): boolean } }).default;
const DubboJsEncoder = (require('apache-dubbo-js/es7/encode.js') as { default: new (ctx: unknown) => { encode(): Buffer } }).default;

const LIMITS = { maxFrameBytes: DubboCodec.defaultMaxFrameBytes };
const enc = (v: unknown): Buffer => hessian.encode(v, '2.0');
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function frameOf(r: XDecodeResult): XFrame {
  assert.equal(r.kind, 0, r.kind === 2 || r.kind === 3 ? r.reason : `kind ${r.kind}`);
  if (r.kind !== 0) throw new Error('unreachable');
  return r.frame;
}

const REQUEST: DubboRequestMessage = {
  requestId: 42,
  service: 'com.example.DemoService',
  version: '1.0.0',
  method: 'sayHello',
  parameterTypes: 'Ljava/lang/String;I[JLcom/example/User;',
  args: [enc('world'), enc(7), enc(java.array('long', [1, 2])), enc(java('com.example.User', { name: 'u', friends: [java('com.example.User', { name: 'f', friends: [] })] }))],
  attachments: { path: 'com.example.DemoService', interface: 'com.example.DemoService', group: 'blue', Application: 'demo' },
};
const request = encodeDubboRequest(REQUEST);
const oneway = encodeDubboRequest({ ...REQUEST, requestId: 43, twoWay: false });
const heartbeat = hex('da bb e2 00 0000000000000001 00000001 4e');
const heartbeatResponse = DubboCodec.encodeHeartbeatResponse(frameOf(DubboCodec.decode(heartbeat, 0, LIMITS)));
const response = encodeDubboResponse(42, DubboStatus.Ok, dubboValueBody('hello world'));
const unknownSerialization = encodeDubboRequest({ ...REQUEST, requestId: 44, serialization: 6 });
const truncatedArg = (() => {
  const f = encodeDubboRequest({ ...REQUEST, requestId: 45, parameterTypes: 'Ljava/lang/String;', args: [Buffer.from([0x05, 0x61])], attachments: {} });
  return f;
})();

const ALL: Array<[string, Buffer, number]> = [
  ['request', request, 0],
  ['oneway', oneway, 0],
  ['heartbeat', heartbeat, 0],
  ['heartbeat response', heartbeatResponse, 0],
  ['response', response, 0],
  ['unknown serialization (refused)', unknownSerialization, 3],
  ['body that does not decode (refused)', truncatedArg, 3],
];

test('dubbo: every split point of every frame kind needs more bytes, then yields exactly the frame', () => {
  for (const [what, f, kind] of ALL) {
    for (let cut = 0; cut < f.length; cut++) assert.equal(DubboCodec.decode(f.subarray(0, cut), 0, LIMITS).kind, 1, `${what} cut at ${cut}`);
    const r = DubboCodec.decode(f, 0, LIMITS);
    assert.equal(r.kind, kind, what);
    if (r.kind === 0 || r.kind === 3) {
      assert.equal(r.consumed, f.length);
      assert.deepEqual(r.frame.bytes, f);
    }
  }
});

test('dubbo: several frames back to back from an offset, each exactly once', () => {
  const all = Buffer.concat([Buffer.from('xyz'), ...ALL.map(([, f]) => f)]);
  let off = 3;
  const kinds: number[] = [];
  const frameKinds: number[] = [];
  while (off < all.length) {
    const r = DubboCodec.decode(all, off, LIMITS);
    assert.ok(r.kind === 0 || r.kind === 3, `at ${off}: ${r.kind}`);
    if (r.kind !== 0 && r.kind !== 3) return;
    kinds.push(r.kind);
    frameKinds.push(r.frame.kind);
    off += r.consumed;
  }
  assert.equal(off, all.length);
  assert.deepEqual(kinds, ALL.map(([, , k]) => k));
  assert.deepEqual(frameKinds, [XFrameKind.Request, XFrameKind.Oneway, XFrameKind.HeartbeatRequest, XFrameKind.HeartbeatResponse, XFrameKind.Response, XFrameKind.Request, XFrameKind.Request]);
});

test('dubbo: request headers (service from interface, group and string attachments, version, method, dubbo)', () => {
  const f = frameOf(DubboCodec.decode(request, 0, LIMITS));
  assert.equal(f.kind, XFrameKind.Request);
  assert.equal(f.requestId, 42);
  assert.equal(f.status, 0);
  assert.deepEqual(
    Object.fromEntries(f.headers),
    { path: 'com.example.DemoService', interface: 'com.example.DemoService', group: 'blue', application: 'demo', service: 'com.example.DemoService', dubbo: '2.0.2', method: 'sayHello', version: '1.0.0' },
  );
  // `interface` overrides the body's path; an attachment `version` wins over the body's (a Java provider's view).
  const g = frameOf(DubboCodec.decode(encodeDubboRequest({ ...REQUEST, service: 'path.Only', attachments: { interface: 'com.x.Iface', version: '2.0' } }), 0, LIMITS));
  assert.equal(g.headers.get('service'), 'com.x.Iface');
  assert.equal(g.headers.get('version'), '2.0');
  const h = frameOf(DubboCodec.decode(encodeDubboRequest({ ...REQUEST, service: 'path.Only', version: null, attachments: {} }), 0, LIMITS));
  assert.equal(h.headers.get('service'), 'path.Only');
  assert.equal(h.headers.has('version'), false, 'a null version is no header');
  assert.equal(h.headers.has('group'), false);
  // Non-string attachment values are skipped; a typed map works as well as an untyped one.
  const typed = new Hessian2Writer().writeRaw(Buffer.from([0x4d])).writeString('java.util.HashMap').writeString('timeout').writeInt(3000);
  typed.writeString('group').writeString('g2').writeRaw(enc(5)).writeString('int key').writeRaw(Buffer.from([0x5a]));
  const t = frameOf(DubboCodec.decode(encodeDubboRequest({ ...REQUEST, rawAttachments: typed.toBuffer() }), 0, LIMITS));
  assert.equal(t.headers.get('group'), 'g2');
  assert.equal(t.headers.has('timeout'), false);
  assert.equal(t.headers.get('service'), REQUEST.service);
});

test('dubbo: requests written by apache-dubbo-js itself (java wrappers, int timeout attachment, dubbox marker)', () => {
  for (const dubbox of [false, true]) {
    const bytes = new DubboJsEncoder({
      requestId: 9,
      dubboVersion: '2.0.2',
      dubboInterface: 'com.foo.Svc',
      version: '1.2.3',
      methodName: 'hi',
      methodArgs: [java.String('a'), java.int(3), java.array.int([1, 2, 3]), java('com.foo.Pojo', { a: 'x', b: java.long(5), c: { k: 'v' } })],
      path: 'com.foo.Svc',
      group: 'g1',
      timeout: 3000,
      application: { name: 'app' },
      attachments: { traceId: 'abc' },
      isSupportedDubbox: dubbox,
    }).encode();
    const f = frameOf(DubboCodec.decode(bytes, 0, LIMITS));
    assert.equal(f.requestId, 9);
    assert.deepEqual(Object.fromEntries(f.headers), {
      application: 'app',
      group: 'g1',
      interface: 'com.foo.Svc',
      path: 'com.foo.Svc',
      traceid: 'abc',
      version: '1.2.3',
      service: 'com.foo.Svc',
      dubbo: '2.0.2',
      method: 'hi',
    });
  }
});

test('dubbo: refused request bodies (kind 3, status → 40) and the next frame still decodes', () => {
  const bodies: Array<[string, Buffer]> = [
    ['truncated argument', truncatedArg],
    ['too few arguments', encodeDubboRequest({ ...REQUEST, parameterTypes: 'II', args: [enc(1)] })],
    ['too many arguments', encodeDubboRequest({ ...REQUEST, parameterTypes: 'I', args: [enc(1), enc(2)] })],
    ['one extra argument that is itself a map', encodeDubboRequest({ ...REQUEST, parameterTypes: 'I', args: [enc(1), enc({ a: 'b' })] })],
    ['bytes after the attachments', encodeDubboRequest({ ...REQUEST, rawAttachments: Buffer.from([0x48, 0x5a, 0x4e]) })],
    ['bad descriptor', encodeDubboRequest({ ...REQUEST, parameterTypes: 'Ljava/lang/String', args: [enc('x')] })],
    ['bad tag', encodeDubboRequest({ ...REQUEST, parameterTypes: 'I', args: [Buffer.from([0x40])] })],
    ['no attachments', encodeDubboFrame({ flag: 0xc2, requestId: 45, body: new Hessian2Writer().writeString('2.0.2').writeString('s').writeString('v').writeString('m').writeString('').toBuffer() })],
    ['empty body', encodeDubboFrame({ flag: 0xc2, requestId: 45 })],
    ['unknown serialization', unknownSerialization],
  ];
  for (const [what, f] of bodies) {
    const both = Buffer.concat([f, request]);
    const r = DubboCodec.decode(both, 0, LIMITS);
    assert.equal(r.kind, 3, what);
    if (r.kind !== 3) continue;
    assert.equal(r.consumed, f.length, what);
    assert.equal(r.frame.kind, XFrameKind.Request);
    assert.ok(r.frame.requestId === 45 || r.frame.requestId === 42 || r.frame.requestId === 44, what);
    assert.notEqual(r.reason, '');
    const reply = frameOf(DubboCodec.decode(DubboCodec.encodeLocalReply(r.frame, r.status, r.reason), 0, LIMITS));
    assert.equal(reply.status, DubboStatus.BadRequest, `${what}: refused with Dubbo 40`);
    assert.equal(reply.requestId, r.frame.requestId);
    assert.equal(frameOf(DubboCodec.decode(both, r.consumed, LIMITS)).requestId, 42, `${what}: the connection goes on`);
  }
  const ow = DubboCodec.decode(encodeDubboRequest({ ...REQUEST, twoWay: false, serialization: 3 }), 0, LIMITS);
  assert.ok(ow.kind === 3 && ow.frame.kind === XFrameKind.Oneway, 'a refused oneway stays oneway (no answer)');
  // Heartbeats are not parsed, whatever their serialization.
  assert.equal(frameOf(DubboCodec.decode(encodeDubboFrame({ flag: 0xe6, requestId: 3, body: Buffer.from('junk') }), 0, LIMITS)).kind, XFrameKind.HeartbeatRequest);
});

test('dubbo: DUBBO-a heartbeat answered with flag 0x22, status 20, the same id; encodeHeartbeat is what Dubbo sends', () => {
  const hb = frameOf(DubboCodec.decode(heartbeat, 0, LIMITS));
  assert.equal(hb.kind, XFrameKind.HeartbeatRequest);
  assert.equal(hb.requestId, 1);
  assert.deepEqual(heartbeatResponse, hex('da bb 22 14 0000000000000001 00000001 4e'));
  assert.equal(heartbeatResponse[2]! & 0x80, 0);
  assert.equal(heartbeatResponse[2]! & 0x20, 0x20);
  const back = frameOf(DubboCodec.decode(heartbeatResponse, 0, LIMITS));
  assert.ok(back.kind === XFrameKind.HeartbeatResponse && back.requestId === 1 && back.status === 20);
  assert.equal(DubboJsHeartBeat.isHeartBeat(heartbeatResponse), true, 'apache-dubbo-js takes it as a heartbeat');
  const ours = DubboCodec.encodeHeartbeat(77);
  const theirs = DubboJsHeartBeat.encode();
  DubboCodec.setRequestId(theirs, 77);
  assert.deepEqual(ours, theirs, 'the same bytes apache-dubbo-js sends as a heartbeat');
  assert.equal(frameOf(DubboCodec.decode(ours, 0, LIMITS)).kind, XFrameKind.HeartbeatRequest);
});

test('dubbo: DUBBO-b bad magic closes, at the start and right after a valid frame', () => {
  const bad = hex('ca fe c2 00 0000000000000002 00000000');
  assert.equal(DubboCodec.decode(bad, 0, LIMITS).kind, 2);
  assert.equal(DubboCodec.decode(bad.subarray(0, 1), 0, LIMITS).kind, 2, 'from the first byte');
  assert.equal(DubboCodec.decode(hex('da bc'), 0, LIMITS).kind, 2, 'from the second byte');
  assert.equal(DubboCodec.decode(hex('da'), 0, LIMITS).kind, 1);
  const both = Buffer.concat([request, bad]);
  const first = DubboCodec.decode(both, 0, LIMITS);
  assert.ok(first.kind === 0 && first.consumed === request.length);
  assert.equal(DubboCodec.decode(both, request.length, LIMITS).kind, 2);
});

test('dubbo: DUBBO-c oversize declared length refused from the 16-byte header alone', () => {
  const big = Buffer.concat([hex('da bb c2 00 0000000000000003 7fffffff'), Buffer.from('a little data')]);
  assert.equal(DubboCodec.decode(big.subarray(0, DUBBO_HEADER_BYTES), 0, LIMITS).kind, 2);
  assert.equal(DubboCodec.decode(big, 0, LIMITS).kind, 2);
  // The limit is the whole frame: body = limit - 16 waits for its bytes, one more is refused.
  const small = { maxFrameBytes: 1024 };
  const atLimit = hex('da bb c2 00 0000000000000003 000003f0');
  assert.equal(DubboCodec.decode(atLimit, 0, small).kind, 1);
  atLimit.writeUInt32BE(1024 - 16 + 1, 12);
  assert.equal(DubboCodec.decode(atLimit, 0, small).kind, 2);
  assert.equal(DubboCodec.defaultMaxFrameBytes, 8 * 1024 * 1024);
});

test('dubbo: u64 request ids up to 2^53 - 1, refused above; setRequestId writes in place', () => {
  const copy = Buffer.from(request);
  for (const id of [0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 12345, Number.MAX_SAFE_INTEGER]) {
    DubboCodec.setRequestId(copy, id);
    assert.equal(frameOf(DubboCodec.decode(copy, 0, LIMITS)).requestId, id);
  }
  assert.deepEqual(copy.subarray(16), request.subarray(16), 'only the id changed');
  copy.writeUInt32BE(0x20_0000, 4); // 2^53
  assert.equal(DubboCodec.decode(copy, 0, LIMITS).kind, 2);
  copy.writeUInt32BE(0xffff_ffff, 4);
  assert.equal(DubboCodec.decode(copy.subarray(0, DUBBO_HEADER_BYTES), 0, LIMITS).kind, 2, 'from the header alone');
});

test('dubbo: local replies carry the same id and the Dubbo status apache-dubbo-js reports as an error', () => {
  const req = frameOf(DubboCodec.decode(request, 0, LIMITS));
  const table: Array<[XLocalStatus, number]> = [
    [XLocalStatus.RouterUnavailable, 60],
    [XLocalStatus.NoHealthUpstream, 60],
    [XLocalStatus.UpstreamOverFlow, 40],
    [XLocalStatus.LimitExceeded, 40],
    [XLocalStatus.TimeoutException, 30],
    [XLocalStatus.PermissionDenied, 70],
    [XLocalStatus.InternalError, 70],
    [XLocalStatus.CodecException, 80],
    [XLocalStatus.DeserialException, 40],
  ];
  for (const [local, dubbo] of table) {
    assert.equal(dubboStatusOf(local), dubbo);
    const bytes = DubboCodec.encodeLocalReply(req, local, 'no route');
    const f = frameOf(DubboCodec.decode(bytes, 0, LIMITS));
    assert.ok(f.kind === XFrameKind.Response && f.status === dubbo && f.requestId === 42);
    assert.equal(bytes[2], 0x02, 'response, hessian2');
    assert.equal(hessian.decode(bytes.subarray(16), '2.0'), `${local}|no route`);
    const seen = dubboJsDecode(bytes);
    assert.equal(seen.requestId, 42);
    assert.ok(seen.err instanceof Error, 'apache-dubbo-js reports an error to the caller');
    assert.match(seen.err.message, new RegExp(`${local}\\|no route`));
    assert.equal(seen.res, null);
  }
  // And an OK response written by the helper is a value to apache-dubbo-js.
  const ok = dubboJsDecode(response);
  assert.equal(ok.err, null);
  assert.equal(ok.res, 'hello world');
});

test('dubbo: statusToHttp and detect', () => {
  const http: Array<[number, number]> = [[20, 200], [30, 504], [31, 504], [40, 400], [50, 500], [60, 404], [70, 500], [80, 500], [90, 500], [100, 503], [7, 500]];
  for (const [s, h] of http) assert.equal(DubboCodec.statusToHttp(s), h, `status ${s}`);
  assert.equal(DubboCodec.detect(Buffer.alloc(0)), DetectResult.NeedMoreData);
  assert.equal(DubboCodec.detect(hex('da')), DetectResult.NeedMoreData);
  assert.equal(DubboCodec.detect(hex('da bb')), DetectResult.Matched);
  assert.equal(DubboCodec.detect(request), DetectResult.Matched);
  assert.equal(DubboCodec.detect(hex('da bc')), DetectResult.NoMatch);
  assert.equal(DubboCodec.detect(Buffer.from('GET /')), DetectResult.NoMatch);
  assert.equal((DubboCodec as { encodeGoAway?: unknown }).encodeGoAway, undefined);
});

// ---------- properties ----------

const token = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 });
const argValue = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.uint8Array({ maxLength: 30 }).map((a) => Buffer.from(a)),
  fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 5 })), { maxLength: 5 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.oneof(fc.integer(), fc.string({ maxLength: 5 }), fc.constant(null)), { maxKeys: 4 }),
  fc.tuple(fc.constantFrom('com.a.A', 'com.a.B'), fc.string({ maxLength: 5 }), fc.integer()).map(([c, s, n]) => java(c, { s, n, l: [s, n] })),
);
const requestArb = fc.record({
  requestId: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  twoWay: fc.boolean(),
  dubboVersion: token,
  service: token,
  version: token,
  method: token,
  group: fc.option(token, { nil: undefined }),
  extra: fc.dictionary(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }).map((s) => s.toLowerCase()), fc.string({ unit: 'grapheme', maxLength: 12 }), { maxKeys: 5 }),
  args: fc.array(argValue, { maxLength: 5 }),
});

test('dubbo: random valid requests decode to exactly their headers, at any split (property)', () => {
  fc.assert(
    fc.property(requestArb, fc.nat(), (m, splitSeed) => {
      const attachments: Record<string, string> = { ...m.extra };
      delete attachments['interface'];
      delete attachments['service'];
      delete attachments['dubbo'];
      delete attachments['method'];
      delete attachments['version'];
      if (m.group !== undefined) attachments['group'] = m.group;
      const frame = encodeDubboRequest({
        requestId: m.requestId,
        twoWay: m.twoWay,
        dubboVersion: m.dubboVersion,
        service: m.service,
        version: m.version,
        method: m.method,
        parameterTypes: m.args.map(() => 'Ljava/lang/Object;').join(''),
        args: m.args.map(enc),
        attachments,
      });
      const cut = splitSeed % frame.length;
      assert.equal(DubboCodec.decode(frame.subarray(0, cut), 0, LIMITS).kind, 1);
      const buf = Buffer.concat([Buffer.from([1, 2, 3]), frame]);
      const f = frameOf(DubboCodec.decode(buf, 3, LIMITS));
      assert.equal(f.requestId, m.requestId);
      assert.equal(f.kind, m.twoWay ? XFrameKind.Request : XFrameKind.Oneway);
      const expected = new Map(Object.entries(attachments));
      expected.set('service', m.service).set('dubbo', m.dubboVersion).set('method', m.method).set('version', m.version);
      assert.deepEqual(f.headers, expected);
    }),
    { numRuns: 300 },
  );
});

function checkResult(r: XDecodeResult, avail: number): void {
  assert.ok(r.kind === 0 || r.kind === 1 || r.kind === 2 || r.kind === 3);
  if (r.kind === 0 || r.kind === 3) {
    assert.ok(r.consumed >= DUBBO_HEADER_BYTES && r.consumed <= avail);
    assert.equal(r.frame.bytes.length, r.consumed);
    assert.ok(Number.isSafeInteger(r.frame.requestId) && r.frame.requestId >= 0);
  }
}

test('dubbo: random bytes never throw (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 120 }), fc.nat(8), (bytes, off) => {
      const b = Buffer.from(bytes);
      const o = Math.min(off, b.length);
      checkResult(DubboCodec.decode(b, o, LIMITS), b.length - o);
      DubboCodec.detect(b);
    }),
    { numRuns: 2000 },
  );
  // Random bodies behind a sound header reach the body parser.
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 200 }), (flag, body) => {
      const f = encodeDubboFrame({ flag, requestId: 5, body });
      checkResult(DubboCodec.decode(f, 0, LIMITS), f.length);
    }),
    { numRuns: 3000 },
  );
});

test('dubbo: mutated valid frames never throw (property)', () => {
  const seeds = ALL.map(([, f]) => f);
  fc.assert(
    fc.property(
      fc.constantFrom(...seeds),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
      fc.nat(),
      (seed, edits, cutSeed) => {
        const b = Buffer.from(seed);
        for (const [at, v] of edits) b[at % b.length] = v;
        const cut = cutSeed % (b.length + 1);
        checkResult(DubboCodec.decode(b, 0, LIMITS), b.length);
        checkResult(DubboCodec.decode(b.subarray(0, cut), 0, LIMITS), cut);
        // Keep the header sound so the mutation lands in the body parser.
        const inBody = Buffer.from(b);
        seed.copy(inBody, 0, 0, DUBBO_HEADER_BYTES);
        checkResult(DubboCodec.decode(inBody, 0, LIMITS), inBody.length);
      },
    ),
    { numRuns: 3000 },
  );
});
