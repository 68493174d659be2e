import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DomainIndex } from './domain-index.js';

function index(domains: string[]): DomainIndex<string> {
  const i = new DomainIndex<string>();
  for (const d of domains) assert.ok(i.add(d, d), `add ${d}`);
  return i;
}

const all = ['a.example.com:8080', 'a.example.com', '*.example.com:8080', '*.example.com', '*-bar.example.com', 'api.*', 'api.v1*:9000', '*'];
const cases: [string, string | undefined][] = [
  ['a.example.com:8080', 'a.example.com:8080'],
  ['A.Example.COM:8080', 'a.example.com:8080'],
  ['a.example.com:9090', 'a.example.com'],
  ['a.example.com', 'a.example.com'],
  ['b.example.com:8080', '*.example.com:8080'],
  ['b.example.com', '*.example.com'],
  ['foo-bar.example.com', '*-bar.example.com'],
  ['foo-bar.example.com:8080', '*.example.com:8080'],
  ['example.com', '*'],
  ['api.internal', 'api.*'],
  ['api.v1.internal:9000', 'api.v1*:9000'],
  ['api.v1.internal:80', 'api.*'],
  ['other.org', '*'],
  ['[::1]:8080', '*'],
];
for (const [host, expected] of cases) {
  test(`virtual host for ${host} → ${expected}`, () => {
    assert.equal(index(all).find(host), expected);
  });
}

test('no default: unknown hosts find nothing', () => {
  assert.equal(index(['a.com']).find('b.com'), undefined);
  assert.equal(index(['a.com:80']).find('a.com'), undefined, 'a domain with a port matches only that port');
  assert.equal(index(['*.a.com']).find('a.com'), undefined, 'the * covers at least one character');
});

test('only a default: every host', () => {
  assert.equal(index(['*']).find('anything:1'), '*');
});

test('explicit any port "host:*" equals "host"', () => {
  assert.equal(index(['a.com:*']).find('a.com:1234'), 'a.com:*');
});

test('IPv6 authorities', () => {
  const i = index(['[::1]:8080', '[::2]']);
  assert.equal(i.find('[::1]:8080'), '[::1]:8080');
  assert.equal(i.find('[::2]:80'), '[::2]');
  assert.equal(i.find('[::2]'), '[::2]');
});

test('duplicates are refused', () => {
  const i = index(['*', 'a.com', '*.b.com']);
  assert.equal(i.add('*', 'x'), false);
  assert.equal(i.add('A.com', 'x'), false);
  assert.equal(i.add('*.b.com', 'x'), false);
  assert.equal(i.add('a.com:80', 'x'), true);
});
