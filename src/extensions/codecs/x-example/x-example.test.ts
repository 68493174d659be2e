import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DetectResult } from '../../../api/protocol.js';
import { XFrameKind, XLocalStatus } from '../../../api/xprotocol.js';
import { encodeXExample, XExampleCodec } from './x-example.js';

const LIMITS = { maxFrameBytes: 4096 };
const frame = encodeXExample({ kind: XFrameKind.Request, requestId: 42, headers: { Service: 'a.b.C', timeout: '300' }, payload: Buffer.from('hello') });

test('x_example: decodes at every split point (need more until complete), then exactly one frame', () => {
  for (let cut = 0; cut < frame.length; cut++) assert.equal(XExampleCodec.decode(frame.subarray(0, cut), 0, LIMITS).kind, 1, `cut ${cut}`);
  const r = XExampleCodec.decode(Buffer.concat([Buffer.from('zz'), frame, frame]), 2, LIMITS);
  assert.equal(r.kind, 0);
  if (r.kind !== 0) return;
  assert.equal(r.consumed, frame.length);
  assert.equal(r.frame.requestId, 42);
  assert.equal(r.frame.kind, XFrameKind.Request);
  assert.equal(r.frame.timeoutMs, 300);
  assert.equal(r.frame.headers.get('service'), 'a.b.C', 'header names lower-cased, values kept');
  assert.deepEqual(r.frame.bytes, frame);
});

test('x_example: request id rewritten in place; local replies, heartbeats, detection, refusals', () => {
  const copy = Buffer.from(frame);
  XExampleCodec.setRequestId(copy, 7);
  const r = XExampleCodec.decode(copy, 0, LIMITS);
  assert.ok(r.kind === 0 && r.frame.requestId === 7);
  if (r.kind !== 0) return;
  const reply = XExampleCodec.decode(XExampleCodec.encodeLocalReply(r.frame, XLocalStatus.RouterUnavailable, 'no route'), 0, LIMITS);
  assert.ok(reply.kind === 0 && reply.frame.kind === XFrameKind.Response && reply.frame.status === 404 && reply.frame.requestId === 7);
  assert.equal(XExampleCodec.statusToHttp(404), 404);
  assert.equal(XExampleCodec.statusToHttp(0), 200);
  const hb = XExampleCodec.decode(XExampleCodec.encodeHeartbeatResponse(r.frame), 0, LIMITS);
  assert.ok(hb.kind === 0 && hb.frame.kind === XFrameKind.HeartbeatResponse);
  assert.equal(XExampleCodec.detect(frame), DetectResult.Matched);
  assert.equal(XExampleCodec.detect(Buffer.from('GET')), DetectResult.NoMatch);
  assert.equal(XExampleCodec.detect(Buffer.alloc(0)), DetectResult.NeedMoreData);
  assert.equal(XExampleCodec.decode(Buffer.from('GET / HTTP/1.1\r\n'), 0, LIMITS).kind, 2, 'garbage refused');
  const big = Buffer.from(frame);
  big.writeUInt32BE(1 << 20, 10);
  assert.equal(XExampleCodec.decode(big.subarray(0, 14), 0, LIMITS).kind, 2, 'over the limit, refused from the header alone');
  const badKind = Buffer.from(frame);
  badKind[1] = 9;
  assert.equal(XExampleCodec.decode(badKind, 0, LIMITS).kind, 2);
});
