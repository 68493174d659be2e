// Tests for the HTTP/1 limits: defaults (Envoy's 60 KiB / 100) and MOSN's extend_config mapping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_HTTP1_LIMITS, http1LimitsFromMosn, resolveHttp1Limits } from './http1-limits.js';

test('defaults are 60 KiB, 100 headers, drop underscores', () => {
  assert.equal(DEFAULT_HTTP1_LIMITS.maxHeaderBytes, 61440);
  assert.equal(DEFAULT_HTTP1_LIMITS.maxHeaderCount, 100);
  assert.equal(DEFAULT_HTTP1_LIMITS.underscores, 'drop');
  assert.deepEqual(resolveHttp1Limits({}), DEFAULT_HTTP1_LIMITS);
  assert.ok(Object.isFrozen(resolveHttp1Limits({ maxHeaderCount: 5 })));
});

test('MOSN extend_config.Http1.max_header_size maps to maxHeaderBytes; 0 or absent keeps the default', () => {
  assert.equal(http1LimitsFromMosn({ max_header_size: 8192 }).maxHeaderBytes, 8192);
  assert.equal(http1LimitsFromMosn({ max_header_size: 0 }).maxHeaderBytes, 61440);
  assert.equal(http1LimitsFromMosn(undefined).maxHeaderBytes, 61440);
  assert.equal(http1LimitsFromMosn({ max_header_size: 8192 }, { underscores: 'allow' }).underscores, 'allow');
});
