// STRICT_DNS discovery with a scripted resolver (answers, failures, hangs) and, once, the system
// resolver on `localhost`. Refresh rates are tens of milliseconds; every discovery is stopped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HostConfig } from '../../../api/config.js';
import { RecordingLogger } from '../../../../test/fakes/logger.js';
import { clusterConfig, hostConfig, tcp, unix, waitFor } from '../../../../test/fakes/net-fixtures.js';
import { StrictDnsClusterTypeFactory, createStrictDnsClusterTypeFactory, type DnsLookup } from './strict-dns.js';

/** A resolver whose answers the test sets per name; records every call. */
class ScriptedResolver {
  readonly answers = new Map<string, readonly string[] | Error | 'hang'>();
  readonly calls: { name: string; family: number }[] = [];
  readonly lookup: DnsLookup = (name, family) => {
    this.calls.push({ name, family });
    const a = this.answers.get(name);
    if (a === 'hang') return new Promise(() => {});
    if (a === undefined) return Promise.reject(new Error(`queryA ENOTFOUND ${name}`));
    if (a instanceof Error) return Promise.reject(a);
    return Promise.resolve(a);
  };
  count(name: string): number {
    return this.calls.filter((c) => c.name === name).length;
  }
}

function reports() {
  const list: (readonly HostConfig[])[] = [];
  const update = (hosts: readonly HostConfig[]) => list.push(hosts);
  const texts = (i = list.length - 1) => (list[i] ?? []).map((h) => `${h.address.text}/${h.hostname}`);
  return { list, update, texts };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('each resolved IP is a host name:port → ip:port with hostname = the DNS name; literals served as written', async () => {
  const dns = new ScriptedResolver();
  dns.answers.set('api.example', ['10.0.0.2', '10.0.0.1', '10.0.0.2']);
  dns.answers.set('named.example', ['10.0.1.1']);
  const cluster = clusterConfig('c', [
    hostConfig(tcp('api.example', 8080), { weight: 7, metadata: { zone: 'a' }, tlsDisable: true }),
    hostConfig(tcp('named.example', 81), { hostname: 'configured.name' }),
    hostConfig(tcp('192.168.1.1', 9000)),
    hostConfig(unix('/run/x.sock')),
  ], { type: 'STRICT_DNS', dnsRefreshRateMs: 60_000 });
  const r = reports();
  const stop = createStrictDnsClusterTypeFactory({ lookup: dns.lookup }).start(cluster, r.update);
  try {
    assert.equal(r.list.length, 0, 'no report before the names are answered');
    await waitFor(() => r.list.length === 1);
    assert.deepEqual(r.texts(), [
      '10.0.0.1:8080/api.example', '10.0.0.2:8080/api.example', '10.0.1.1:81/configured.name', '192.168.1.1:9000/', 'unix:/run/x.sock/',
    ]);
    const first = r.list[0]?.[0];
    assert.equal(first?.weight, 7);
    assert.deepEqual(first?.metadata, { zone: 'a' });
    assert.equal(first?.tlsDisable, true);
    assert.deepEqual(first?.address, { kind: 'tcp', host: '10.0.0.1', port: 8080, text: '10.0.0.1:8080' });
    assert.deepEqual(dns.calls.map((c) => c.name).sort(), ['api.example', 'named.example'], 'literals are not looked up');
  } finally {
    stop();
  }
});

test('only literal hosts: one synchronous report, as SIMPLE; no lookups', () => {
  const dns = new ScriptedResolver();
  const r = reports();
  const stop = createStrictDnsClusterTypeFactory({ lookup: dns.lookup }).start(clusterConfig('c', [hostConfig(tcp('127.0.0.1', 1))], { type: 'STRICT_DNS' }), r.update);
  stop();
  assert.deepEqual(r.texts(), ['127.0.0.1:1/']);
  assert.equal(dns.calls.length, 0);
});

test('refresh every dns_refresh_rate; a report only when the address set changed (order ignored)', async () => {
  const dns = new ScriptedResolver();
  dns.answers.set('svc', ['10.0.0.1', '10.0.0.2']);
  const r = reports();
  const stop = createStrictDnsClusterTypeFactory({ lookup: dns.lookup }).start(clusterConfig('c', [hostConfig(tcp('svc', 80))], { type: 'STRICT_DNS', dnsRefreshRateMs: 20 }), r.update);
  try {
    await waitFor(() => r.list.length === 1);
    dns.answers.set('svc', ['10.0.0.2', '10.0.0.1']); // same set, rotated
    const seen = dns.count('svc');
    await waitFor(() => dns.count('svc') >= seen + 3);
    assert.equal(r.list.length, 1, 'an unchanged set is not reported again');
    dns.answers.set('svc', ['10.0.0.3']);
    await waitFor(() => r.list.length === 2);
    assert.deepEqual(r.texts(), ['10.0.0.3:80/svc']);
  } finally {
    stop();
  }
});

test('a failed lookup keeps the previous hosts and warns once per failure streak; recovery is logged', async () => {
  const dns = new ScriptedResolver();
  dns.answers.set('svc', ['10.0.0.1']);
  const logger = new RecordingLogger();
  const r = reports();
  const stop = createStrictDnsClusterTypeFactory({ lookup: dns.lookup }).start(
    clusterConfig('c', [hostConfig(tcp('svc', 80))], { type: 'STRICT_DNS', dnsRefreshRateMs: 15 }), r.update, { logger });
  try {
    await waitFor(() => r.list.length === 1);
    dns.answers.set('svc', new Error('getaddrinfo EAI_AGAIN svc'));
    const seen = dns.count('svc');
    await waitFor(() => dns.count('svc') >= seen + 4);
    dns.answers.set('svc', []); // an empty answer is a failure too
    const seen2 = dns.count('svc');
    await waitFor(() => dns.count('svc') >= seen2 + 2);
    assert.equal(r.list.length, 1, 'failures never report (the previous hosts stay)');
    const warns = logger.lines.filter((l) => l.level === 'warn');
    assert.equal(warns.length, 1, JSON.stringify(warns));
    assert.match(warns[0]?.msg ?? '', /lookup failed; keeping the previous addresses/);
    assert.equal(warns[0]?.obj['cluster'], 'c');
    assert.equal(warns[0]?.obj['host'], 'svc');
    assert.match(String(warns[0]?.obj['error']), /EAI_AGAIN/);
    assert.deepEqual(warns[0]?.obj['kept'], ['10.0.0.1']);
    dns.answers.set('svc', ['10.0.0.9']);
    await waitFor(() => r.list.length === 2);
    assert.deepEqual(r.texts(), ['10.0.0.9:80/svc']);
    assert.ok(logger.has('info', /succeeded again/));
    assert.ok(logger.has('info', /addresses changed.*10\.0\.0\.9/));
  } finally {
    stop();
  }
});

test('the first report waits for every name; a name that fails first contributes nothing until it resolves', async () => {
  const dns = new ScriptedResolver();
  dns.answers.set('a', ['10.0.0.1']);
  dns.answers.set('b', 'hang');
  const r = reports();
  const stop = createStrictDnsClusterTypeFactory({ lookup: dns.lookup, resolveTimeoutMs: 200 }).start(
    clusterConfig('c', [hostConfig(tcp('a', 80)), hostConfig(tcp('b', 80))], { type: 'STRICT_DNS', dnsRefreshRateMs: 30 }), r.update);
  try {
    await new Promise((res) => setImmediate(res)); // a's answer is in
    assert.equal(r.list.length, 0, 'b has not answered yet');
    await waitFor(() => r.list.length === 1); // b timed out → counted as failed
    assert.deepEqual(r.texts(), ['10.0.0.1:80/a']);
    dns.answers.set('b', ['10.0.0.2']);
    await waitFor(() => r.list.length === 2);
    assert.deepEqual(r.texts(), ['10.0.0.1:80/a', '10.0.0.2:80/b']);
  } finally {
    stop();
  }
});

test('every name failing at start: no report at all (a new cluster stays empty, a reconfigured one keeps its hosts)', async () => {
  const dns = new ScriptedResolver();
  const r = reports();
  const stop = createStrictDnsClusterTypeFactory({ lookup: dns.lookup }).start(clusterConfig('c', [hostConfig(tcp('nowhere', 80))], { type: 'STRICT_DNS', dnsRefreshRateMs: 10 }), r.update);
  try {
    await waitFor(() => dns.count('nowhere') >= 3);
    assert.equal(r.list.length, 0);
  } finally {
    stop();
  }
});

test('a timed-out lookup answering late is ignored; stop() cancels the refresh timers and pending answers', async () => {
  let release!: (a: readonly string[]) => void;
  let calls = 0;
  const lookup: DnsLookup = () => {
    calls++;
    return calls === 1 ? new Promise((res) => (release = res)) : Promise.resolve(['10.0.0.5']);
  };
  const r = reports();
  const stop = createStrictDnsClusterTypeFactory({ lookup, resolveTimeoutMs: 20 }).start(clusterConfig('c', [hostConfig(tcp('slow', 80))], { type: 'STRICT_DNS', dnsRefreshRateMs: 10 }), r.update);
  await waitFor(() => r.list.length === 1);
  assert.deepEqual(r.texts(), ['10.0.0.5:80/slow']);
  release(['10.9.9.9']); // the first, timed-out lookup
  await sleep(5);
  assert.deepEqual(r.texts(), ['10.0.0.5:80/slow']);
  assert.equal(r.list.length, 1);
  stop();
  const after = calls;
  await sleep(50);
  assert.equal(calls, after, 'no lookup after stop()');
  assert.equal(r.list.length, 1);
});

test('dns_lookup_family: V4_ONLY (default) asks for IPv4 and drops other answers; V6_ONLY; ALL asks for both', async () => {
  for (const [family, want, hosts] of [
    [undefined, 4, ['10.0.0.1:80/n']],
    ['V6_ONLY', 6, ['[::1]:80/n']],
    ['ALL', 0, ['10.0.0.1:80/n', '[::1]:80/n']],
  ] as const) {
    const dns = new ScriptedResolver();
    dns.answers.set('n', ['::1', '10.0.0.1', 'not-an-ip']);
    const r = reports();
    const over = family === undefined ? { type: 'STRICT_DNS' } : { type: 'STRICT_DNS', dnsLookupFamily: family };
    const stop = createStrictDnsClusterTypeFactory({ lookup: dns.lookup }).start(clusterConfig('c', [hostConfig(tcp('n', 80))], over), r.update);
    try {
      await waitFor(() => r.list.length === 1);
      assert.equal(dns.calls[0]?.family, want);
      assert.deepEqual(r.texts(), hosts);
    } finally {
      stop();
    }
  }
});

test('the built-in uses the system resolver: localhost → 127.0.0.1', async () => {
  const r = reports();
  const stop = StrictDnsClusterTypeFactory.start(clusterConfig('c', [hostConfig(tcp('localhost', 8080))], { type: 'STRICT_DNS' }), r.update);
  try {
    await waitFor(() => r.list.length === 1, 5000, 'localhost resolved');
    assert.deepEqual(r.texts(), ['127.0.0.1:8080/localhost']);
  } finally {
    stop();
  }
});
