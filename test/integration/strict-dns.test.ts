/**
 * STRICT_DNS clusters end to end: a whole Skiff server loaded from MOSN JSON over real sockets, with
 * the system resolver on `localhost`, and with a scripted resolver (injected through the registries)
 * that fails, then moves a name between two origins (127.0.0.1:P and 127.0.0.2:P), then fails again.
 * The cluster manager's side (empty until resolved, a reconfiguration keeps the resolved hosts, host
 * objects kept across refreshes, removal stops the lookups) is checked on `ClusterManagerImpl`. The
 * L7 cases (503 UH while unresolved, `auto_host_rewrite` sending the DNS name) run once the `proxy`
 * network filter is registered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, request } from 'node:http';
import { createServer, type AddressInfo, type Server as NetServer } from 'node:net';
import type { Registries, Registry } from '../../src/api/registry.js';
import type { ClusterTypeFactory } from '../../src/api/upstream.js';
import { loadConfigDocument } from '../../src/config/loader.js';
import { createStrictDnsClusterTypeFactory, type DnsLookup } from '../../src/extensions/cluster-types/strict-dns/strict-dns.js';
import { StatsStore } from '../../src/observability/stats.js';
import { registerBuiltins } from '../../src/registry/builtin.js';
import { createBuiltinRegistries, createRegistries } from '../../src/registry/registries.js';
import { Server } from '../../src/server/server.js';
import { ClusterManagerImpl } from '../../src/upstream/cluster-manager.js';
import { l7Document } from '../fakes/l7-harness.js';
import { RecordingLogger } from '../fakes/logger.js';
import { clusterConfig, connectTo, hostConfig, readAll, tcp, waitFor } from '../fakes/net-fixtures.js';

/** Built-in registries, except that STRICT_DNS resolves through `lookup`. */
function registriesWith(lookup: DnsLookup): Registries {
  const r = createRegistries();
  const types = r.clusterTypes;
  const skipStrictDns: Registry<ClusterTypeFactory> = {
    kind: types.kind,
    register: (f) => (f.name === 'STRICT_DNS' ? undefined : types.register(f)),
    get: (n) => types.get(n),
    has: (n) => types.has(n),
    names: () => types.names(),
  };
  registerBuiltins({ ...r, clusterTypes: skipStrictDns });
  types.register(createStrictDnsClusterTypeFactory({ lookup }));
  return r;
}

/** Name → answer, switchable by the test: absent → ENOTFOUND, 'hang' → never answers. */
class ScriptedResolver {
  readonly answers = new Map<string, readonly string[] | 'hang'>();
  calls = 0;
  readonly lookup: DnsLookup = (name) => {
    this.calls++;
    const a = this.answers.get(name);
    if (a === 'hang') return new Promise(() => {});
    return a === undefined ? Promise.reject(new Error(`getaddrinfo ENOTFOUND ${name}`)) : Promise.resolve(a);
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A TCP origin that answers every connection with its name, then FIN. */
async function namedOrigin(name: string, host: string, port = 0): Promise<{ port: number; close(): Promise<void> }> {
  const srv: NetServer = createServer((s) => s.end(name));
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, host, () => resolve());
  });
  return { port: (srv.address() as AddressInfo).port, close: () => new Promise<void>((r) => srv.close(() => r())) };
}

function tcpProxyDoc(cluster: Record<string, unknown>): Record<string, unknown> {
  return {
    servers: [{
      default_log_path: 'stderr',
      default_log_level: 'ERROR',
      listeners: [{ name: 'l4', address: '127.0.0.1:0', bind_port: true, filter_chains: [{ filters: [{ type: 'tcp_proxy', config: { cluster: 'dns' } }] }] }],
    }],
    cluster_manager: { clusters: [{ name: 'dns', type: 'STRICT_DNS', lb_type: 'LB_LEAST_REQUEST', connect_timeout: '1s', ...cluster }] },
  };
}

async function start(doc: unknown, registries: Registries): Promise<Server> {
  const load = await loadConfigDocument(doc, { registries, baseDir: process.cwd() });
  return Server.start(load, { registries, baseDir: process.cwd() });
}

function portOf(server: Server, listener: string): number {
  const text = server.listenerAddress(listener) ?? '';
  return Number(text.slice(text.lastIndexOf(':') + 1));
}

/** What one connection through the tcp_proxy listener reads ('' when Skiff closes it: no host). */
async function ask(port: number): Promise<string> {
  const c = await connectTo(port);
  const got = readAll(c);
  c.end();
  return (await got).data.toString();
}

/** Asks until the answer is `want` (a refresh is a few timer ticks away); returns the last answer. */
async function askUntil(port: number, want: string, tries = 200): Promise<string> {
  let answer = '';
  for (let i = 0; i < tries; i++) {
    answer = await ask(port);
    if (answer === want) break;
    await sleep(10);
  }
  return answer;
}

test('tcp_proxy to a STRICT_DNS cluster on localhost, resolved by the system resolver', async () => {
  const origin = await namedOrigin('origin', '127.0.0.1');
  const server = await start(tcpProxyDoc({ hosts: [{ address: `localhost:${origin.port}` }], lbconfig: { choice_count: 2 } }), createBuiltinRegistries());
  try {
    const port = portOf(server, 'l4');
    assert.equal(await askUntil(port, 'origin'), 'origin');
    assert.equal(await ask(port), 'origin');
  } finally {
    await server.stopNow();
    await origin.close();
  }
});

test('unresolved → no host; a refresh moves new connections to the new address; a failed lookup keeps it', async () => {
  const a = await namedOrigin('A', '127.0.0.1');
  let b: { port: number; close(): Promise<void> };
  try {
    b = await namedOrigin('B', '127.0.0.2', a.port);
  } catch (err) {
    await a.close();
    assert.fail(`cannot listen on 127.0.0.2:${a.port}: ${(err as Error).message}`);
  }
  const dns = new ScriptedResolver(); // svc.test: ENOTFOUND until told otherwise
  const server = await start(tcpProxyDoc({ hosts: [{ address: `svc.test:${a.port}` }], dns_refresh_rate: '20ms' }), registriesWith(dns.lookup));
  try {
    const port = portOf(server, 'l4');
    await waitFor(() => dns.calls >= 2);
    assert.equal(await ask(port), '', 'no host while the name does not resolve: the connection is closed');
    dns.answers.set('svc.test', ['127.0.0.1']);
    assert.equal(await askUntil(port, 'A'), 'A');
    dns.answers.set('svc.test', ['127.0.0.2']);
    assert.equal(await askUntil(port, 'B'), 'B', 'the refreshed address serves new connections');
    dns.answers.delete('svc.test');
    const calls = dns.calls;
    await waitFor(() => dns.calls >= calls + 3);
    for (let i = 0; i < 5; i++) assert.equal(await ask(port), 'B', 'a failed lookup keeps the previous address');
  } finally {
    await server.stopNow();
    await a.close();
    await b.close();
  }
});

test('cluster manager: empty until resolved, hosts kept across refreshes and reconfiguration, removal stops lookups', async () => {
  const dns = new ScriptedResolver();
  dns.answers.set('svc.test', 'hang');
  const registries = registriesWith(dns.lookup);
  const cm = new ClusterManagerImpl({ registries, stats: new StatsStore(), logger: new RecordingLogger() });
  const config = clusterConfig('c', [hostConfig(tcp('svc.test', 8080))], { type: 'STRICT_DNS', lbType: 'LB_LEAST_REQUEST', dnsRefreshRateMs: 15 });
  try {
    cm.addOrUpdateCluster(config);
    const handle = cm.handle('c');
    assert.equal(handle.snapshot?.hostSet.hosts.length, 0, 'a new cluster is empty until the name resolves');
    assert.equal(handle.snapshot?.lb.chooseHost(undefined), undefined);
    dns.answers.set('svc.test', ['127.0.0.1', '127.0.0.3']);
    // The first lookup hangs (timeout 20 s); a reconfiguration restarts discovery and the new lookup answers.
    cm.addOrUpdateCluster({ ...config, connectTimeoutMs: 1_500 });
    await waitFor(() => handle.snapshot?.hostSet.hosts.length === 2);
    const hosts = handle.snapshot?.hostSet.hosts ?? [];
    assert.deepEqual(hosts.map((h) => `${h.addressText}/${h.hostname}`), ['127.0.0.1:8080/svc.test', '127.0.0.3:8080/svc.test']);
    const snap = handle.snapshot;
    const calls = dns.calls;
    await waitFor(() => dns.calls >= calls + 3);
    assert.equal(handle.snapshot, snap, 'an unchanged answer publishes nothing');
    // Reconfigured while the resolver hangs: the resolved hosts stay (same objects), with the new config.
    dns.answers.set('svc.test', 'hang');
    cm.addOrUpdateCluster({ ...config, connectTimeoutMs: 2_500 });
    await sleep(40);
    assert.equal(handle.snapshot?.config.connectTimeoutMs, 2_500);
    assert.deepEqual(handle.snapshot?.hostSet.hosts, hosts);
    assert.equal(handle.snapshot?.hostSet.hosts[0], hosts[0]);
    // Removal stops the lookups.
    dns.answers.set('svc.test', ['127.0.0.1']);
    cm.addOrUpdateCluster({ ...config, connectTimeoutMs: 3_000 });
    await waitFor(() => handle.snapshot?.hostSet.hosts.length === 1);
    assert.equal(handle.snapshot?.hostSet.hosts[0], hosts[0], 'a host that stays keeps its object (stats, pool, activeRequests)');
    cm.removeCluster('c');
    const after = dns.calls;
    await sleep(60);
    assert.equal(dns.calls, after, 'no lookups after the cluster is removed');
    assert.equal(handle.snapshot, undefined);
  } finally {
    cm.close();
  }
});

// ── L7: only once the HTTP proxy filter exists ───────────────────────────────────────────────────

const hasProxy = createBuiltinRegistries().networkFilters.has('proxy');

/** Sends GET / through Skiff on a new connection; rejects when no response comes within 5 s. */
function get(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false, headers: { host: 'front.example' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.setTimeout(5_000, () => req.destroy(new Error('no response in 5 s')));
    req.on('error', reject);
    req.end();
  });
}

test('L7: 503 UH while the name is unresolved; auto_host_rewrite sends the DNS name once resolved', { skip: !hasProxy && 'the proxy network filter is not registered yet' }, async () => {
  const origin = createHttpServer((req, res) => res.end(`host=${req.headers.host}`));
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', () => r()));
  const originPort = (origin.address() as AddressInfo).port;
  const dns = new ScriptedResolver();
  const doc = l7Document({
    clusters: { web: [`web.test:${originPort}`] },
    cluster: { type: 'STRICT_DNS', dns_refresh_rate: '20ms' },
    virtualHosts: [{ name: 'all', domains: ['*'], routers: [{ match: { prefix: '/' }, route: { cluster_name: 'web', auto_host_rewrite: true } }] }],
  });
  const server = await start(doc, registriesWith(dns.lookup));
  try {
    const port = portOf(server, 'proxy');
    await waitFor(() => dns.calls >= 1);
    const unresolved = await get(port);
    assert.equal(unresolved.status, 503);
    assert.match(unresolved.body, /\(UH\)\n$/);
    dns.answers.set('web.test', ['127.0.0.1']);
    let res = unresolved;
    for (let i = 0; i < 200 && res.status !== 200; i++) {
      await sleep(10);
      res = await get(port);
    }
    assert.equal(res.status, 200);
    assert.equal(res.body, 'host=web.test');
  } finally {
    await server.stopNow();
    await new Promise<void>((r) => origin.close(() => r()));
  }
});

test('L7: a name with two addresses under LB_LEAST_REQUEST: the host holding a request gets no new ones', { skip: !hasProxy && 'the proxy network filter is not registered yet' }, async () => {
  const held: import('node:http').ServerResponse[] = [];
  const slow = createHttpServer((_req, res) => held.push(res)); // answers only when released
  await new Promise<void>((r) => slow.listen(0, '127.0.0.1', () => r()));
  const port = (slow.address() as AddressInfo).port;
  const fast = createHttpServer((_req, res) => res.end('fast'));
  await new Promise<void>((resolve, reject) => {
    fast.once('error', reject);
    fast.listen(port, '127.0.0.2', () => resolve());
  });
  const dns = new ScriptedResolver();
  dns.answers.set('pair.test', ['127.0.0.1', '127.0.0.2']);
  const doc = l7Document({ clusters: { pair: [`pair.test:${port}`] }, cluster: { type: 'STRICT_DNS', lb_type: 'LB_LEAST_REQUEST', lbconfig: { choice_count: 2 } } });
  const server = await start(doc, registriesWith(dns.lookup));
  const pending: Promise<{ status: number; body: string }>[] = [];
  try {
    const proxyPort = portOf(server, 'proxy');
    // Until the slow host holds one request (each pick compares both hosts; an idle tie is random).
    for (let i = 0; i < 50 && held.length === 0; i++) {
      const p = get(proxyPort);
      await Promise.race([p, waitFor(() => held.length > 0, 2000).catch(() => {})]);
      if (held.length > 0) pending.push(p);
      else assert.equal((await p).body, 'fast');
    }
    assert.equal(held.length, 1, 'one request reached the slow host');
    for (let i = 0; i < 20; i++) assert.equal((await get(proxyPort)).body, 'fast', `request ${i} went to the idle host`);
    assert.equal(held.length, 1);
    for (const res of held) res.end('slow');
    assert.equal((await pending[0])?.body, 'slow');
  } finally {
    for (const res of held) if (!res.writableEnded) res.end();
    await server.stopNow();
    await new Promise<void>((r) => slow.close(() => r()));
    await new Promise<void>((r) => fast.close(() => r()));
  }
});
