// Table tests for request path normalisation (issue 3 item 3) and absolute-form target splitting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizePath } from './normalize-path.js';
import { splitAbsoluteTarget } from './head-parser.js';

const TABLE: Array<[string, string]> = [
  ['/', '/'],
  ['/a/b', '/a/b'],
  ['/a/../b', '/b'],
  ['/a/./b', '/a/b'],
  ['/a/b/..', '/a/'],
  ['/a/b/.', '/a/b/'],
  ['/../../x', '/x'],
  ['/%2e%2e/', '/'],
  ['/%2E%2e/admin', '/admin'],
  ['/a/%2e/b', '/a/b'],
  ['//x', '/x'],
  ['/a//b///c', '/a/b/c'],
  ['/%41', '/A'],
  ['/%7euser', '/~user'],
  ['/a%2Fb', '/a%2Fb'],
  ['/a%2fb', '/a%2Fb'],
  ['/%20x', '/%20x'],
  ['/a/../b?x=/../y&z=%41', '/b?x=/../y&z=%41'],
  ['/a/b/', '/a/b/'],
  ['/.hidden/..x', '/.hidden/..x'],
];

test('normalisation table', () => {
  for (const [input, want] of TABLE) {
    const r = normalizePath(input);
    assert.deepEqual(r, { ok: true, path: want }, input);
  }
});

test('already-normal paths come back as the same string', () => {
  const p = '/api/v1/items?x=1';
  const r = normalizePath(p);
  assert.ok(r.ok);
  assert.equal(r.path, p);
});

test('merge_slashes off keeps repeated slashes', () => {
  assert.deepEqual(normalizePath('/a//b/../c', { mergeSlashes: false }), { ok: true, path: '/a//c' });
});

test('invalid encodings and non-origin paths are errors', () => {
  for (const bad of ['/%zz', '/a%2', '/a%', '/%g1', 'x/y']) {
    const r = normalizePath(bad);
    assert.equal(r.ok, false, bad);
    if (!r.ok) { assert.equal(r.status, 400); assert.equal(r.code, 'E_PATH'); }
  }
});

test('absolute-form split into authority and path', () => {
  assert.deepEqual(splitAbsoluteTarget('http://a.com:8080/x?y'), { scheme: 'http', authority: 'a.com:8080', path: '/x?y' });
  assert.deepEqual(splitAbsoluteTarget('HTTPS://[::1]:443'), { scheme: 'https', authority: '[::1]:443', path: '/' });
  assert.deepEqual(splitAbsoluteTarget('http://a?q'), { scheme: 'http', authority: 'a', path: '/?q' });
  for (const bad of ['ftp://a/', 'http:///x', 'http://u:p@a/', 'http://a:/', 'http://a:65536/', '/x']) {
    assert.equal(splitAbsoluteTarget(bad), null, bad);
  }
});
