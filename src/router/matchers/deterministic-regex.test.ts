import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RE2JS } from 're2js';
import { deterministicRegExp } from './deterministic-regex.js';

const accepted = [
  '^/api/v[0-9]+/items/[a-z]+$', '^/h1/r3/v\\d+/x', '^/img/\\w+\\.png$', '^/a-b/[^/]+/c$', '^/x?yz*$', '^/users/[0-9]*$', '^/\\-/[\\-a-z]+$', '^[0-9]+[a-z]+/',
];
const rejected = [
  '/api', '(a+)+$', '^(a|b)', '^a.*b', '^a+a', '^[a-z]+x', '^\\s+', '^a{2}', '^a+?', '^[[:alpha:]]', '^[]a]', '^a*b?c', '(?i)^/API', '^/é',
];
for (const p of accepted) test(`deterministic: accepts ${p}`, () => assert.ok(deterministicRegExp(p) instanceof RegExp));
for (const p of rejected) test(`deterministic: leaves ${p} to re2js`, () => assert.equal(deterministicRegExp(p), undefined));

test('deterministic: same answers as RE2 on random inputs (differential)', () => {
  let seed = 7;
  const rand = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff; };
  const alphabet = ['/', 'a', 'z', 'x', 'y', '0', '9', '-', '.', '_', 'p', 'n', 'g', 'é', '😀', 'A', 'i', 't', 'e', 'm', 's', 'v', 'c', 'b'];
  const seeds = ['/api/v12/items/abc', '/h1/r3/v7/x', '/img/a_b.png', '/a-b/zz/c', '/xyzz', '/users/', '/-/a-b', '12ab/'];
  for (const [k, p] of accepted.entries()) {
    const fast = deterministicRegExp(p)!;
    const re2 = RE2JS.compile(p);
    for (let n = 0; n < 400; n++) {
      let s = seeds[k]!;
      const edits = Math.floor(rand() * 4);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rand() * (s.length + 1));
        const ch = alphabet[Math.floor(rand() * alphabet.length)]!;
        s = rand() < 0.5 ? s.slice(0, at) + ch + s.slice(at) : s.slice(0, at) + s.slice(at + 1);
      }
      assert.equal(fast.test(s), re2.test(s), `${p} on ${JSON.stringify(s)}`);
    }
  }
});

test('deterministic: linear on adversarial input', () => {
  const fast = deterministicRegExp('^[0-9]+[a-z]+/')!;
  const start = process.hrtime.bigint();
  assert.equal(fast.test('1'.repeat(50_000) + 'a'.repeat(50_000)), false);
  assert.ok(Number(process.hrtime.bigint() - start) / 1e6 < 2000);
});
