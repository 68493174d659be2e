import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RouteMatchConfig } from '../../api/config.js';
import type { RouteRequest } from '../route-request.js';
import { compileRouteMatcher } from './route-matcher.js';

function req(path: string, opts: { method?: string; headers?: Record<string, string>; vars?: Record<string, string> } = {}): RouteRequest {
  return {
    host: 'h', path, method: opts.method ?? 'GET',
    getHeader: (n) => opts.headers?.[n],
    getVariable: (n) => opts.vars?.[n],
  };
}
const m = (x: Partial<RouteMatchConfig>): RouteMatchConfig => ({ headers: [], variables: [], ...x });

const cases: [string, RouteMatchConfig, RouteRequest, boolean][] = [
  ['prefix matches', m({ prefix: '/api' }), req('/api/v1'), true],
  ['prefix is case-sensitive', m({ prefix: '/api' }), req('/API/v1'), false],
  ['prefix is not a suffix', m({ prefix: '/api' }), req('/x/api'), false],
  ['path exact', m({ path: '/Login' }), req('/Login'), true],
  ['path is case-insensitive', m({ path: '/Login' }), req('/LOGIN'), true],
  ['path is exact (no prefix)', m({ path: '/login' }), req('/login/x'), false],
  ['regex is unanchored (middle)', m({ regex: 'v[0-9]+' }), req('/api/v12/x'), true],
  ['regex anchored when the pattern says so', m({ regex: '^/v[0-9]+$' }), req('/api/v12'), false],
  ['regex RE2 inline flag', m({ regex: '(?i)^/ADMIN' }), req('/admin/x'), true],
  ['regex miss', m({ regex: '\\.png$' }), req('/a.jpg'), false],
  ['header exact', m({ prefix: '/', headers: [{ name: 'x-env', value: 'prod', regex: false }] }), req('/a', { headers: { 'x-env': 'prod' } }), true],
  ['header exact is case-sensitive on value', m({ prefix: '/', headers: [{ name: 'x-env', value: 'prod', regex: false }] }), req('/a', { headers: { 'x-env': 'PROD' } }), false],
  ['header name looked up lower-case', m({ prefix: '/', headers: [{ name: 'X-Env', value: 'prod', regex: false }] }), req('/a', { headers: { 'x-env': 'prod' } }), true],
  ['header missing → no match', m({ prefix: '/', headers: [{ name: 'x-env', value: '', regex: false }] }), req('/a'), false],
  ['header regex unanchored', m({ prefix: '/', headers: [{ name: 'user-agent', value: 'curl', regex: true }] }), req('/a', { headers: { 'user-agent': 'x curl/8' } }), true],
  ['all headers must match', m({ prefix: '/', headers: [{ name: 'a', value: '1', regex: false }, { name: 'b', value: '2', regex: false }] }), req('/a', { headers: { a: '1', b: '3' } }), false],
  ['header name method = request method', m({ prefix: '/', headers: [{ name: 'method', value: 'POST', regex: false }] }), req('/a', { method: 'POST' }), true],
  ['header method mismatch', m({ prefix: '/', headers: [{ name: 'method', value: 'POST', regex: false }] }), req('/a', { method: 'GET', headers: { method: 'POST' } }), false],
  ['variables value', m({ variables: [{ name: 'x-mosn-method', value: 'GET' }] }), req('/', { vars: { 'x-mosn-method': 'GET' } }), true],
  ['variables regex', m({ variables: [{ name: 'v', regex: '^a+$' }] }), req('/', { vars: { v: 'aaa' } }), true],
  ['variables and (default)', m({ variables: [{ name: 'a', value: '1' }, { name: 'b', value: '2' }] }), req('/', { vars: { a: '1', b: 'x' } }), false],
  ['variables or', m({ variables: [{ name: 'a', value: '1', model: 'or' }, { name: 'b', value: '2' }] }), req('/', { vars: { a: 'x', b: '2' } }), true],
  ['variables chain: (a or b) and c', m({ variables: [{ name: 'a', value: '1', model: 'or' }, { name: 'b', value: '2', model: 'and' }, { name: 'c', value: '3' }] }), req('/', { vars: { a: '1', c: 'no' } }), false],
  ['unknown variable is a miss', m({ variables: [{ name: 'nope', value: '' }] }), req('/'), false],
  ['rpc rule: service .* matches anything', m({ headers: [{ name: 'service', value: '.*', regex: false }] }), req('/'), true],
  ['rpc rule: service exact', m({ headers: [{ name: 'service', value: 'com.a.Svc', regex: false }] }), req('/', { headers: { service: 'com.a.Svc' } }), true],
  ['rpc rule: service mismatch', m({ headers: [{ name: 'service', value: 'com.a.Svc', regex: false }] }), req('/', { headers: { service: 'com.b.Svc' } }), false],
  ['path wins over prefix when both set', m({ path: '/a', prefix: '/' }), req('/ab'), false],
];

for (const [name, config, request, expected] of cases) {
  test(`matcher: ${name}`, () => {
    assert.equal(compileRouteMatcher(config).matches(request), expected);
  });
}

test('matcher kinds and matched path', () => {
  assert.deepEqual([m({ path: '/a' }), m({ prefix: '/p' }), m({ regex: 'x' }), m({ variables: [{ name: 'v', value: '' }] }), m({})].map((c) => compileRouteMatcher(c).kind),
    ['path', 'prefix', 'regex', 'variables', 'rpc']);
  assert.equal(compileRouteMatcher(m({ prefix: '/p' })).matchedPath, '/p');
});

test('an invalid RE2 pattern (lookahead) throws at compile time', () => {
  assert.throws(() => compileRouteMatcher(m({ regex: '(?=a)b' })), /invalid or unsupported Perl syntax/);
});

test('catastrophic regex runs in linear time: (a+)+$ against a*40 + "!"', () => {
  const matcher = compileRouteMatcher(m({ regex: '(a+)+$' }));
  const start = process.hrtime.bigint();
  // A backtracking engine needs ~2^40 steps here; RE2 answers at once.
  assert.equal(matcher.matches(req(`/${'a'.repeat(40)}!`)), false);
  assert.equal(compileRouteMatcher(m({ prefix: '/', headers: [{ name: 'x', value: '(x+x+)+y', regex: true }] })).matches(req('/', { headers: { x: 'x'.repeat(5000) } })), false);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  assert.ok(ms < 5000, `took ${ms} ms`);
});
