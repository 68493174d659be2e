import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DetectResult } from '../../../api/protocol.js';
import { XFrameKind, XLocalStatus, type XDecodeResult } from '../../../api/xprotocol.js';
import { BoltCmdCode, BoltCodec, BoltStatus, BoltType, BoltV2Codec, boltFrameParts, decodeBolt, encodeBolt, type BoltMessage } from './bolt.js';

const LIMITS = { maxFrameBytes: 16 * 1024 * 1024 };
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** One of every frame kind, both versions, with and without CRC. */
const samples: BoltMessage[] = [];
for (const version of [1, 2] as const) {
  for (const crc of version === 2 ? [false, true] : [false]) {
    samples.push(
      { version, crc, type: BoltType.Request, cmdCode: BoltCmdCode.Request, requestId: 7, timeoutMs: 3000, className: 'com.alipay.sofa.rpc.core.request.SofaRequest', headers: { service: 'com.a.B:1.0', sofa_head_method_name: 'echo' }, content: Buffer.from('content-bytes') },
      { version, crc, type: BoltType.Oneway, cmdCode: BoltCmdCode.Request, requestId: 8, headers: { service: 'x' } },
      { version, crc, type: BoltType.Response, cmdCode: BoltCmdCode.Response, requestId: 9, status: BoltStatus.ServerException, className: 'com.alipay.sofa.rpc.core.response.SofaResponse', content: Buffer.from([1, 2, 3]) },
      { version, crc, type: BoltType.Request, cmdCode: BoltCmdCode.Heartbeat, requestId: 10, timeoutMs: -1 },
      { version, crc, type: BoltType.Response, cmdCode: BoltCmdCode.Heartbeat, requestId: 10 },
      { version, crc, type: BoltType.Request, cmdCode: BoltCmdCode.GoAway, requestId: 0, timeoutMs: -1 },
    );
  }
}
const KIND_OF: Record<string, XFrameKind> = { '1/1': XFrameKind.Request, '2/1': XFrameKind.Oneway, '0/2': XFrameKind.Response, '1/0': XFrameKind.HeartbeatRequest, '0/0': XFrameKind.HeartbeatResponse, '1/100': XFrameKind.GoAway };

function frameOf(r: XDecodeResult) {
  assert.equal(r.kind, 0, r.kind === 2 ? r.reason : `kind ${r.kind}`);
  if (r.kind !== 0) throw new Error('unreachable');
  return r;
}

test('bolt: the reliability vectors decode as specified (R1, HB, its local reply)', () => {
  const r1 = hex('01 01 0001 01 00000001 01 00000bb8 0000 0000 00000004 70696e67');
  const f = frameOf(decodeBolt(r1, 0, LIMITS));
  assert.equal(f.consumed, 26);
  assert.equal(f.frame.kind, XFrameKind.Request);
  assert.equal(f.frame.requestId, 1);
  assert.equal(f.frame.timeoutMs, 3000);
  assert.equal(boltFrameParts(f.frame.bytes).content.toString(), 'ping');
  const hb = frameOf(decodeBolt(hex('01 01 0000 01 00000002 01 00000000 0000 0000 00000000'), 0, LIMITS));
  assert.equal(hb.frame.kind, XFrameKind.HeartbeatRequest);
  assert.deepEqual(BoltCodec.encodeHeartbeatResponse(hb.frame), hex('01 00 0000 01 00000002 01 0000 0000 0000 00000000'));
  assert.deepEqual(BoltCodec.encodeGoAway!(), hex('01 01 0064 01 00000000 01 ffffffff 0000 0000 00000000'));
});

test('bolt: every frame kind, both versions, decodes at every split point and round-trips its fields', () => {
  for (const m of samples) {
    const bytes = encodeBolt(m);
    for (let cut = 0; cut < bytes.length; cut++) {
      assert.equal(decodeBolt(bytes.subarray(0, cut), 0, LIMITS).kind, 1, `v${m.version} ${m.type}/${m.cmdCode} cut ${cut}`);
    }
    const twice = Buffer.concat([Buffer.from([0xee]), bytes, bytes]);
    const f = frameOf(decodeBolt(twice, 1, LIMITS));
    assert.equal(f.consumed, bytes.length);
    assert.equal(f.frame.kind, KIND_OF[`${m.type}/${m.cmdCode}`]);
    assert.equal(f.frame.requestId, m.requestId);
    assert.equal(f.frame.status, m.status ?? 0);
    assert.equal(f.frame.timeoutMs, Math.max(0, m.timeoutMs ?? 0));
    assert.deepEqual(Object.fromEntries(f.frame.headers), m.headers ?? {});
    assert.deepEqual(f.frame.bytes, bytes);
    const parts = boltFrameParts(f.frame.bytes);
    assert.equal(parts.className, m.className ?? '');
    assert.deepEqual(parts.content, m.content ?? Buffer.alloc(0));
    const second = frameOf(decodeBolt(twice, 1 + f.consumed, LIMITS));
    assert.equal(second.consumed, bytes.length);
  }
});

test('bolt: request ids are rewritten in place (and a v2 CRC32 follows)', () => {
  for (const m of samples.slice(0, 6).concat(samples.slice(12))) {
    const bytes = encodeBolt(m);
    const codec = m.version === 2 ? BoltV2Codec : BoltCodec;
    codec.setRequestId(bytes, 0xfffffffe);
    assert.deepEqual(bytes, encodeBolt({ ...m, requestId: 0xfffffffe }), `v${m.version} crc ${m.crc}`);
    assert.equal(frameOf(decodeBolt(bytes, 0, LIMITS)).frame.requestId, 0xfffffffe);
  }
});

test('bolt: local replies carry MOSN\'s mapped status, the same id, version and serializer', () => {
  const req = frameOf(decodeBolt(encodeBolt({ version: 2, type: BoltType.Request, cmdCode: 1, requestId: 77, serializer: 11 }), 0, LIMITS)).frame;
  const cases: [XLocalStatus, number][] = [
    [XLocalStatus.RouterUnavailable, BoltStatus.NoProcessor], [XLocalStatus.NoHealthUpstream, BoltStatus.NoProcessor],
    [XLocalStatus.UpstreamOverFlow, BoltStatus.ServerThreadpoolBusy], [XLocalStatus.CodecException, BoltStatus.CodecException],
    [XLocalStatus.DeserialException, BoltStatus.ServerDeserialException], [XLocalStatus.TimeoutException, BoltStatus.Timeout],
    [XLocalStatus.PermissionDenied, BoltStatus.ServerException], [XLocalStatus.InternalError, BoltStatus.Unknown],
  ];
  for (const [internal, bolt] of cases) {
    const reply = frameOf(decodeBolt(BoltV2Codec.encodeLocalReply(req, internal, 'x'), 0, LIMITS));
    assert.equal(reply.frame.kind, XFrameKind.Response);
    assert.equal(reply.frame.requestId, 77);
    assert.equal(reply.frame.status, bolt, `internal ${internal}`);
    const parts = boltFrameParts(reply.frame.bytes);
    assert.equal(parts.version, 2);
    assert.equal(parts.serializer, 11);
  }
  assert.equal(BoltCodec.statusToHttp(0), 200);
  assert.equal(BoltCodec.statusToHttp(4), 503);
  assert.equal(BoltCodec.statusToHttp(7), 504);
  assert.equal(BoltCodec.statusToHttp(0x10), 502);
  assert.equal(BoltCodec.statusToHttp(2), 500);
});

test('bolt: detection by the first byte; other protocols refused', () => {
  assert.equal(BoltCodec.detect(Buffer.alloc(0)), DetectResult.NeedMoreData);
  assert.equal(BoltCodec.detect(Buffer.from([1])), DetectResult.Matched);
  assert.equal(BoltCodec.detect(Buffer.from([2])), DetectResult.NoMatch);
  assert.equal(BoltV2Codec.detect(Buffer.from([2])), DetectResult.Matched);
  assert.equal(BoltCodec.detect(Buffer.from('GET / HTTP/1.1')), DetectResult.NoMatch);
  assert.equal(BoltCodec.detect(Buffer.from([0xda, 0xbb])), DetectResult.NoMatch);
});

test('bolt: bad input (BOLT-c, BOLT-d): oversize from the header alone, unknown proto closes, unknown type/cmdCode refused with 0009/0006', () => {
  // BOLT-c: contentLen 0xffffffff, only 16 bytes of content present → refused at once.
  const huge = hex('01 01 0001 01 00000003 01 00000bb8 0000 0000 ffffffff' + '00'.repeat(16));
  const r = decodeBolt(huge, 0, LIMITS);
  assert.equal(r.kind, 2);
  assert.equal(decodeBolt(huge.subarray(0, 22), 0, LIMITS).kind, 2, 'the 22-byte header is enough to refuse');
  const small = encodeBolt({ type: 1, cmdCode: 1, requestId: 1, content: Buffer.alloc(100) });
  assert.equal(decodeBolt(small, 0, { maxFrameBytes: 100 }).kind, 2, 'configurable limit');
  assert.equal(decodeBolt(small, 0, { maxFrameBytes: small.length }).kind, 0, 'a frame of exactly the limit passes');
  // Unknown proto.
  for (const b of [0x02 + 0x7d, 0x7f, 0x00, 0x47]) assert.equal(decodeBolt(Buffer.from([b, 1, 0, 1]), 0, LIMITS).kind, 2);
  // Unknown cmdType 5 → codec exception (0x09) for that id.
  const badType = hex('01 05 0001 01 00000004 01 00000bb8 0000 0000 00000000');
  const t = decodeBolt(badType, 0, LIMITS);
  assert.ok(t.kind === 3 && t.status === XLocalStatus.CodecException && t.frame.requestId === 4 && t.consumed === 22);
  if (t.kind === 3) assert.equal(frameOf(decodeBolt(BoltCodec.encodeLocalReply(t.frame, t.status, t.reason), 0, LIMITS)).frame.status, 0x09);
  // Unknown cmdCode 7 → no processor (0x06).
  const badCmd = hex('01 01 0007 01 00000005 01 00000bb8 0000 0000 00000000');
  const c = decodeBolt(badCmd, 0, LIMITS);
  assert.ok(c.kind === 3 && c.frame.requestId === 5);
  if (c.kind === 3) assert.equal(frameOf(decodeBolt(BoltCodec.encodeLocalReply(c.frame, c.status, c.reason), 0, LIMITS)).frame.status, 0x06);
});

test('bolt: header-map lengths are bounds-checked (every inner inconsistency is a refusal, never a throw)', () => {
  const good = encodeBolt({ type: 1, cmdCode: 1, requestId: 12, headers: { service: 'a.B', k: 'v' } });
  const mapStart = 22;
  const mutate = (at: number, value: number): Buffer => { const b = Buffer.from(good); b.writeUInt32BE(value, at); return b; };
  for (const bad of [mutate(mapStart, 1000), mutate(mapStart, 0xfffffff0), mutate(mapStart + 4 + 7, 50)]) {
    const r = decodeBolt(bad, 0, LIMITS);
    assert.ok(r.kind === 3 && r.status === XLocalStatus.CodecException && r.frame.requestId === 12, `kind ${r.kind}`);
  }
  // A map block too short for even a key length.
  const short = encodeBolt({ type: 1, cmdCode: 1, requestId: 13, content: Buffer.from([0, 0]) });
  short.writeUInt16BE(2, 16); // headerLen 2, contentLen 0: the two content bytes are now the "map"
  short.writeUInt32BE(0, 18);
  const r = decodeBolt(short, 0, LIMITS);
  assert.ok(r.kind === 3 && r.frame.requestId === 13);
  // Null key: pair skipped; null value: "".
  const nulls = Buffer.concat([hex('ffffffff 00000001 61'), hex('00000001 6b ffffffff')]);
  const withNulls = encodeBolt({ type: 1, cmdCode: 1, requestId: 14 });
  const frame = Buffer.concat([withNulls, nulls]);
  frame.writeUInt16BE(nulls.length, 16);
  const n = frameOf(decodeBolt(frame, 0, LIMITS));
  assert.deepEqual(Object.fromEntries(n.frame.headers), { k: '' });
  // Duplicate keys: the last wins, for get() and for the whole map alike; a mixed-case key is found by its lower-case name.
  const dupBytes = Buffer.concat([encodeBolt({ type: 1, cmdCode: 1, requestId: 15 }), hex('00000001 61 00000001 31 00000001 41 00000001 32')]);
  dupBytes.writeUInt16BE(20, 16); // headerLen: the two pairs a=1, A=2
  const dup = frameOf(decodeBolt(dupBytes, 0, LIMITS));
  assert.equal(dup.frame.headers.get('a'), '2');
  assert.deepEqual([...dup.frame.headers], [['a', '2']]);
  // Header names are lower-cased for routing.
  const upper = frameOf(decodeBolt(encodeBolt({ type: 1, cmdCode: 1, requestId: 1, headers: { Service: 'S' } }), 0, LIMITS));
  assert.equal(upper.frame.headers.get('service'), 'S');
});

const arbMessage: fc.Arbitrary<BoltMessage> = fc.record({
  version: fc.constantFrom(1 as const, 2 as const),
  crc: fc.boolean(),
  kindIndex: fc.integer({ min: 0, max: 5 }),
  requestId: fc.nat({ max: 0xffffffff }),
  timeoutMs: fc.integer({ min: -1, max: 100_000 }),
  status: fc.integer({ min: 0, max: 0x12 }),
  className: fc.string({ maxLength: 40 }),
  headers: fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }).map((s) => s.toLowerCase()).filter((s) => s !== '__proto__'), fc.string({ maxLength: 30 }), { maxKeys: 6 }),
  content: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
}).map((r) => {
  const [type, cmdCode] = [[1, 1], [2, 1], [0, 2], [1, 0], [0, 0], [1, 100]][r.kindIndex]!;
  return { version: r.version, crc: r.crc, type: type!, cmdCode: cmdCode!, requestId: r.requestId, timeoutMs: r.timeoutMs, status: r.status, className: r.className, headers: r.headers, content: r.content };
});

test('bolt (property): any valid frame stream, cut anywhere, decodes to the same frames', () => {
  fc.assert(fc.property(fc.array(arbMessage, { minLength: 1, maxLength: 5 }), fc.nat(), (msgs, cutSeed) => {
    const stream = Buffer.concat(msgs.map(encodeBolt));
    const cut = cutSeed % (stream.length + 1);
    // Feed in two reads the way the stream layer does: decode what is whole, keep the tail, join.
    const decoded: { id: number; kind: XFrameKind; headers: Record<string, string> }[] = [];
    const entries = (h: ReadonlyMap<string, string>): Record<string, string> => { const o: Record<string, string> = {}; for (const [k, v] of h) o[k] = v; return o; };
    let held = Buffer.alloc(0);
    for (const chunk of [stream.subarray(0, cut), stream.subarray(cut)]) {
      const buf = Buffer.concat([held, chunk]);
      let off = 0;
      for (;;) {
        const r = decodeBolt(buf, off, LIMITS);
        if (r.kind === 1) break;
        if (r.kind !== 0) throw new Error(`unexpected ${r.kind}`);
        decoded.push({ id: r.frame.requestId, kind: r.frame.kind, headers: entries(r.frame.headers) });
        off += r.consumed;
      }
      held = Buffer.from(buf.subarray(off));
    }
    assert.equal(held.length, 0);
    assert.deepEqual(decoded.map((d) => d.id), msgs.map((m) => m.requestId >>> 0));
    assert.deepEqual(decoded.map((d) => d.kind), msgs.map((m) => KIND_OF[`${m.type}/${m.cmdCode}`]));
    assert.deepEqual(decoded.map((d) => d.headers), msgs.map((m) => ({ ...m.headers })));
    // In-place lookups (routing) agree with the whole map.
    for (const m of msgs) {
      const r = decodeBolt(encodeBolt(m), 0, LIMITS);
      if (r.kind !== 0) throw new Error('unreachable');
      for (const [k, v] of Object.entries(m.headers ?? {})) assert.equal(r.frame.headers.get(k), v, `get(${JSON.stringify(k)})`);
      assert.equal(r.frame.headers.get('absent-key'), (m.headers as Record<string, string> | undefined)?.['absent-key']);
    }
  }), { numRuns: 400 });
});

test('bolt (property): random and mutated bytes never throw; results stay inside the buffer', () => {
  const check = (buf: Buffer): void => {
    let off = 0;
    for (let i = 0; i < 64 && off < buf.length; i++) {
      const r = decodeBolt(buf, off, { maxFrameBytes: 4096 });
      if (r.kind === 1 || r.kind === 2) return;
      assert.ok(r.consumed > 0 && off + r.consumed <= buf.length);
      assert.ok(r.frame.bytes.length === r.consumed);
      off += r.consumed;
    }
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (a) => check(Buffer.from(a))), { numRuns: 2000 });
  fc.assert(fc.property(arbMessage, fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { maxLength: 6 }), (m, flips) => {
    const b = encodeBolt(m);
    for (const [at, v] of flips) b[at % b.length] = v;
    check(b);
  }), { numRuns: 2000 });
});
