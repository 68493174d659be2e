import { test } from 'node:test';
import assert from 'node:assert/strict';
import { anchoredLiteralPrefix, compileLinearRegex } from './linear-regex.js';

const prefixes: [string, string][] = [
  ['^/api/v[0-9]+', '/api/v'],
  ['^/api/vx+', '/api/v'],
  ['^/a\\.b\\/c$', '/a.b/c'],
  ['^/a\\d', '/a'],
  ['^/img/|^/css/', ''],
  ['/api', ''],
  ['(?i)^/API', ''],
  ['^', ''],
  ['^abc?', 'ab'],
  ['^ab{2}', 'a'],
];
for (const [pattern, expected] of prefixes) {
  test(`anchored literal prefix of ${pattern} = ${JSON.stringify(expected)}`, () => assert.equal(anchoredLiteralPrefix(pattern), expected));
}

const matches: [string, string, boolean][] = [
  ['^/api/v[0-9]+', '/api/v2/x', true],
  ['^/api/v[0-9]+', '/x/api/v2', false],
  ['^/api/vx+', '/api/v', false],
  ['^/api/vx+', '/api/vxx', true],
  ['^abc?', 'ab', true],
  ['^/img/|^/css/', '/css/a', true],
  ['(?i)^/API', '/api', true],
  ['b+', 'abbbc', true],
];
for (const [pattern, input, expected] of matches) {
  test(`regex ${pattern} on ${input} → ${expected} (prefilter agrees with the engine)`, () => assert.equal(compileLinearRegex(pattern).test(input), expected));
}

test('replaceAll with Go-style ${n} and $n references', () => {
  assert.equal(compileLinearRegex('/(\\w+)/(\\d+)').replaceAll('/a/1 /b/2', '/${2}-$1'), '/1-a /2-b');
});
