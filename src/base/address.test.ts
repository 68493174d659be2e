import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatAddress, parseAddress, tryParseAddress } from './address.js';
import { ConfigError } from './errors.js';

test('ip:port, host:port, [ipv6]:port and :port', () => {
  assert.deepEqual(parseAddress('127.0.0.1:2045', 'a'), { kind: 'tcp', host: '127.0.0.1', port: 2045, text: '127.0.0.1:2045' });
  assert.deepEqual(parseAddress('localhost:80', 'a'), { kind: 'tcp', host: 'localhost', port: 80, text: 'localhost:80' });
  assert.deepEqual(parseAddress('[::1]:2045', 'a'), { kind: 'tcp', host: '::1', port: 2045, text: '[::1]:2045' });
  assert.deepEqual(parseAddress(':8080', 'a'), { kind: 'tcp', host: '0.0.0.0', port: 8080, text: '0.0.0.0:8080' });
  assert.equal(parseAddress(' 10.0.0.1:0 ', 'a').text, '10.0.0.1:0');
  assert.equal(parseAddress('h:65535', 'a').text, 'h:65535');
});

test('unix:/path and bare /path are unix sockets', () => {
  assert.deepEqual(parseAddress('unix:/tmp/s.sock', 'a'), { kind: 'unix', path: '/tmp/s.sock', text: 'unix:/tmp/s.sock' });
  assert.deepEqual(parseAddress('/tmp/s.sock', 'a'), { kind: 'unix', path: '/tmp/s.sock', text: 'unix:/tmp/s.sock' });
});

test('invalid addresses give clear reasons', () => {
  const reason = (t: string) => {
    const r = tryParseAddress(t);
    assert.equal(typeof r, 'string', t);
    return r as string;
  };
  assert.match(reason('127.0.0.1:99999'), /invalid port "99999"/);
  assert.match(reason('127.0.0.1:-1'), /invalid port "-1"/);
  assert.match(reason('127.0.0.1:http'), /invalid port "http"/);
  assert.match(reason('127.0.0.1'), /missing port/);
  assert.match(reason('127.0.0.1:'), /missing port/);
  assert.match(reason('::1:80'), /too many colons.*brackets/);
  assert.match(reason('[::1:80'), /missing "\]"/);
  assert.match(reason('[::1]'), /missing port/);
  assert.match(reason('[1.2.3.4]:80'), /not an IPv6 address/);
  assert.match(reason('bad host!:80'), /invalid host "bad host!"/);
  assert.match(reason(''), /address is empty/);
  assert.match(reason('unix:'), /has no path/);
});

test('parseAddress throws ConfigError at the given path', () => {
  assert.throws(() => parseAddress('1.2.3.4:70000', 'servers[0].listeners[1].address'), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.issues[0]?.path, 'servers[0].listeners[1].address');
    assert.match(e.message, /^servers\[0\]\.listeners\[1\]\.address: invalid port "70000"/);
    return true;
  });
});

test('formatAddress round-trips', () => {
  for (const t of ['127.0.0.1:1', '[::1]:2', 'unix:/x', 'example.com:443']) assert.equal(formatAddress(parseAddress(t, '')), t);
});
