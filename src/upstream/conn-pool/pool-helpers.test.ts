import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseKeepAliveTimeoutMs } from './keep-alive-timeout.js';
import { isIdempotentMethod, isRetryableOnReused } from './retry-on-reused.js';

test('parseKeepAliveTimeoutMs reads timeout= in ms, rejects malformed values', () => {
  assert.equal(parseKeepAliveTimeoutMs('timeout=5, max=100'), 5000);
  assert.equal(parseKeepAliveTimeoutMs('max=100, Timeout = 15'), 15000);
  assert.equal(parseKeepAliveTimeoutMs('timeout="7"'), 7000);
  assert.equal(parseKeepAliveTimeoutMs('timeout=0'), 0);
  assert.equal(parseKeepAliveTimeoutMs('max=100'), undefined);
  assert.equal(parseKeepAliveTimeoutMs('timeout=-1'), undefined);
  assert.equal(parseKeepAliveTimeoutMs('timeout=1.5'), undefined);
  assert.equal(parseKeepAliveTimeoutMs('timeout=abc'), undefined);
  assert.equal(parseKeepAliveTimeoutMs(''), undefined);
  assert.equal(parseKeepAliveTimeoutMs(undefined), undefined);
});

test('isRetryableOnReused: only reused + no response byte + idempotent', () => {
  assert.equal(isRetryableOnReused(true, 0, true), true);
  assert.equal(isRetryableOnReused(false, 0, true), false, 'a fresh connection failing is a real failure');
  assert.equal(isRetryableOnReused(true, 1, true), false, 'the upstream started answering');
  assert.equal(isRetryableOnReused(true, 0, false), false, 'POST is not replayed');
  assert.equal(isIdempotentMethod('GET'), true);
  assert.equal(isIdempotentMethod('PUT'), true);
  assert.equal(isIdempotentMethod('POST'), false);
  assert.equal(isIdempotentMethod('get'), false);
});
