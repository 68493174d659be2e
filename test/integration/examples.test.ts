/**
 * Every config under examples/ (and the bundled configs/default.json) is validated with
 * `--strict`-free `skiff validate` and then started and exercised over real sockets. The example
 * files keep their documented fixed ports; the test maps each fixed port (and /tmp socket path) to
 * a free one in a temp copy, so runs never collide. The HTTP examples' origins are node:http servers
 * started here that answer with what they received (see `httpOrigin`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, SkiffProcess, tempDir } from '../fakes/skiff-process.js';
import { XFrameKind } from '../../src/api/xprotocol.js';
import { BoltStatus } from '../../src/extensions/codecs/bolt/bolt.js';
import { DubboCodec, DubboStatus, dubboValueBody, encodeDubboRequest, encodeDubboResponse } from '../../src/extensions/codecs/dubbo/dubbo.js';
import { boltClient, boltContent, startBoltServer } from '../fakes/bolt-peer.js';
import { execFileSync } from 'node:child_process';
import grpc from '@grpc/grpc-js';
import { startOrigin, tlsGet } from '../fakes/tls-peers.js';
import { rawRequest } from '../fakes/scripted-origin.js';

const EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url));
const CONFIGS = fileURLToPath(new URL('../../../configs/', import.meta.url));

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface Prepared {
  path: string;
  port: (fixed: number) => number;
  sock: (name: string) => string;
  dir: string;
  cleanup: () => void;
}

/** Copies an example (a folder under `root`) into a temp dir with every fixed port and /tmp socket path remapped. */
async function prepare(example: string, file: string, root = EXAMPLES): Promise<Prepared> {
  const { dir, cleanup } = tempDir();
  let text = readFileSync(join(root, example, file), 'utf8');
  const ports = new Map<number, number>();
  const fixed = new Set<number>();
  for (const m of text.matchAll(/127\.0\.0\.1:(\d{2,5})|"port_value":\s*(\d+)|Port:\s*"(\d+)"/g)) fixed.add(Number(m[1] ?? m[2] ?? m[3]));
  for (const p of fixed) ports.set(p, await freePort());
  text = text.replace(/127\.0\.0\.1:(\d{2,5})/g, (_, p: string) => `127.0.0.1:${ports.get(Number(p))}`);
  text = text.replace(/("port_value":\s*)(\d+)/g, (_, k: string, p: string) => `${k}${ports.get(Number(p))}`);
  text = text.replace(/(Port:\s*")(\d+)"/g, (_, k: string, p: string) => `${k}${ports.get(Number(p))}"`);
  text = text.replace(/\/tmp\/skiff-example-/g, `${dir}/`);
  const path = join(dir, file);
  writeFileSync(path, text);
  for (const f of readdirSync(join(root, example))) if (f.endsWith('.mjs')) copyFileSync(join(root, example, f), join(dir, f));
  return {
    path,
    dir,
    cleanup,
    port: (p) => ports.get(p) ?? assert.fail(`no port ${p} in ${example}`),
    sock: (name) => join(dir, name),
  };
}

/** An upstream that greets with its name, then echoes. */
async function namedUpstream(name: string, at: number | string): Promise<net.Server> {
  const server = net.createServer((s) => {
    s.on('error', () => {});
    s.write(`${name}|`);
    s.pipe(s);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (typeof at === 'number') server.listen(at, '127.0.0.1', resolve);
    else server.listen(at, resolve);
  });
  return server;
}

/** Sends `payload`, half-closes, returns everything received until the proxy closes. */
function exchange(target: number | string, payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = typeof target === 'number' ? net.connect(target, '127.0.0.1') : net.connect(target);
    let got = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (got += d));
    s.on('connect', () => s.end(payload));
    s.on('close', () => resolve(got));
    s.on('error', reject);
    setTimeout(() => {
      s.destroy();
      reject(new Error(`no close from ${target}; got "${got}"`));
    }, 5000).unref();
  });
}

const closeAll = (servers: net.Server[]) => Promise.all(servers.map((s) => new Promise((r) => s.close(r))));

/** What an HTTP origin saw of one request. */
interface Seen {
  readonly origin: string;
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  /** The upstream connection's client port: one per pooled connection Skiff opened. */
  readonly remotePort: number;
}

interface HttpOrigin {
  readonly seen: Seen[];
  /** Every connection Skiff opened to this origin, with when it closed (0 = still open). */
  readonly connections: { port: number; closedAt: number }[];
  /** Responds to every request held so far (paths containing "/hold"). */
  release(): void;
  close(): Promise<void>;
}

/**
 * A node:http origin on 127.0.0.1:`port` that answers each request with its own name in `x-origin`,
 * a secret header (`x-origin-secret`, for response-header removal) and the request as JSON. Requests
 * whose path contains "/hold" wait for `release()`. Keep-alive 60 s, so only Skiff closes idle
 * connections.
 */
async function httpOrigin(name: string, port: number): Promise<HttpOrigin> {
  const seen: Seen[] = [];
  const connections: { port: number; closedAt: number }[] = [];
  let held: http.ServerResponse[] = [];
  const answer = (res: http.ServerResponse, s: Seen): void => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-origin': name, 'x-origin-secret': 's3cret' });
    res.end(JSON.stringify(s));
  };
  const server = http.createServer((req, res) => {
    const s: Seen = { origin: name, method: req.method ?? '', url: req.url ?? '', headers: req.headers, remotePort: req.socket.remotePort ?? 0 };
    seen.push(s);
    req.resume();
    req.on('end', () => {
      if (s.url.includes('/hold')) held.push(res);
      else answer(res, s);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', (sock) => {
    const c = { port: sock.remotePort ?? 0, closedAt: 0 };
    connections.push(c);
    sock.on('close', () => (c.closedAt = Date.now()));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    seen,
    connections,
    release: () => {
      const h = held;
      held = [];
      for (const res of h) res.end('released');
    },
    close: async () => {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  /** The origin's JSON echo of the request (throws when the reply did not come from an origin). */
  seen(): Seen;
}

/** One HTTP/1.1 request on a fresh connection to 127.0.0.1:`port`. */
function send(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, seen: () => JSON.parse(body) as Seen }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no reply in 5 s`)));
    req.on('error', reject);
    req.end();
  });
}

const closeOrigins = (origins: HttpOrigin[]) => Promise.all(origins.map((o) => o.close()));
const countBy = (xs: readonly string[]): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
};

async function validates(path: string): Promise<string> {
  const r = await runCli(['validate', '-c', path]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout + r.stderr, /config is valid/);
  return r.stdout + r.stderr;
}

test('examples/tcp-proxy: round robin over two hosts, bytes echoed intact', async () => {
  const ex = await prepare('tcp-proxy', 'config.json');
  const ups = [await namedUpstream('a', ex.port(8080)), await namedUpstream('b', ex.port(8081))];
  let skiff: SkiffProcess | undefined;
  try {
    skiff = await SkiffProcess.start(ex.path);
    await validates(ex.path);
    const port = await skiff.waitForListener('serverListener');
    const replies = [await exchange(port, 'one'), await exchange(port, 'two')];
    assert.deepEqual(replies.map((r) => r.split('|')[1]), ['one', 'two']);
    assert.deepEqual(new Set(replies.map((r) => r.split('|')[0])), new Set(['a', 'b']), 'round robin used both hosts');
    const stats = (await skiff.admin('GET', '/api/v1/stats?key=downstream')).json<Record<string, Record<string, Record<string, string>>>>();
    assert.equal(stats['downstream']?.['listener.serverListener']?.['connection_total'], '2');
  } finally {
    await skiff?.stop();
    await closeAll(ups);
    ex.cleanup();
  }
});

test('examples/tcp-proxy-routes (YAML): cluster chosen by destination port', async () => {
  const ex = await prepare('tcp-proxy-routes', 'config.yaml');
  const ups = [await namedUpstream('blue', ex.port(9001)), await namedUpstream('green', ex.port(9002))];
  let skiff: SkiffProcess | undefined;
  try {
    skiff = await SkiffProcess.start(ex.path);
    await validates(ex.path);
    assert.match(await exchange(await skiff.waitForListener('blue_listener'), 'x'), /^blue\|x$/);
    assert.match(await exchange(await skiff.waitForListener('green_listener'), 'y'), /^green\|y$/);
  } finally {
    await skiff?.stop();
    await closeAll(ups);
    ex.cleanup();
  }
});

test('examples/unix-socket: unix listener → TCP host and TCP listener → unix host', async () => {
  const ex = await prepare('unix-socket', 'config.json');
  const ups = [await namedUpstream('tcp', ex.port(8080)), await namedUpstream('uds', ex.sock('app.sock'))];
  let skiff: SkiffProcess | undefined;
  try {
    skiff = await SkiffProcess.start(ex.path);
    await validates(ex.path);
    const running = skiff;
    await running.waitFor(() => running.logs.some((l) => l.msg === 'listener bound' && l['listener'] === 'uds_in'), 5000, 'uds_in');
    assert.equal(await exchange(ex.sock('proxy.sock'), 'via-uds'), 'tcp|via-uds');
    assert.equal(await exchange(await skiff.waitForListener('tcp_in'), 'via-tcp'), 'uds|via-tcp');
  } finally {
    await skiff?.stop();
    await closeAll(ups);
    ex.cleanup();
  }
});

test('examples/custom-filter: a network filter loaded from skiff_module serves connections', async () => {
  const ex = await prepare('custom-filter', 'config.json');
  let skiff: SkiffProcess | undefined;
  try {
    skiff = await SkiffProcess.start(ex.path);
    await validates(ex.path);
    assert.equal(await exchange(await skiff.waitForListener('echo_listener'), 'hello'), 'echo: hello');
  } finally {
    await skiff?.stop();
    ex.cleanup();
  }
});

test('examples/mosn-legacy: a MOSN-era config loads unchanged; legacy router kept, obsolete filter skipped', async () => {
  const ex = await prepare('mosn-legacy', 'config.json');
  const ups = [await namedUpstream('server', ex.port(2046))];
  let skiff: SkiffProcess | undefined;
  try {
    skiff = await SkiffProcess.start(ex.path);
    const out = await validates(ex.path);
    assert.match(out, /healthcheck/, 'the obsolete healthcheck stream filter is reported as skipped');
    assert.equal(await exchange(await skiff.waitForListener('clientListener'), 'ping'), 'server|ping');
    const dump = (await skiff.admin('GET', '/api/v1/config_dump?allrouters')).body;
    assert.match(dump, /client_router/);
  } finally {
    await skiff?.stop();
    await closeAll(ups);
    ex.cleanup();
  }
});

test('configs/default.json: 2045 → 2046 → 2047 (direct response) crosses two proxy hops', async () => {
  const ex = await prepare('', 'default.json', CONFIGS);
  let skiff: SkiffProcess | undefined;
  try {
    skiff = await SkiffProcess.start(ex.path);
    assert.doesNotMatch(await validates(ex.path), /warning/);
    const viaTwoHops = await send(await skiff.waitForListener('clientListener'), '/');
    assert.equal(viaTwoHops.status, 200);
    assert.match(viaTwoHops.body, /^Welcome to Skiff!\n/);
    assert.equal(viaTwoHops.headers['x-skiff-hops'], 'serverListener, clientListener', 'each proxy hop appends its listener name');
    const app = await send(await skiff.waitForListener('appListener'), '/');
    assert.equal(app.body, viaTwoHops.body);
    assert.equal(app.headers['x-skiff-hops'], undefined);
    const running = skiff;
    await running.waitFor(() => /-> 127\.0\.0\.1:\d+ clientCluster code=200 flag=- /.test(running.stdout), 5000, 'access log line on stdout');
  } finally {
    await skiff?.stop();
    ex.cleanup();
  }
});

test('examples/http-routing: hosts, paths, headers, rewrites, weights, header mutation, direct responses, redirects', async () => {
  const ex = await prepare('http-routing', 'config.json');
  const origins = [await httpOrigin('v1', ex.port(8080)), await httpOrigin('v2', ex.port(8081)), await httpOrigin('static', ex.port(8082))];
  let skiff: SkiffProcess | undefined;
  try {
    skiff = await SkiffProcess.start(ex.path);
    assert.doesNotMatch(await validates(ex.path), /warning/);
    const port = await skiff.waitForListener('edge');
    const api = (path: string, headers: Record<string, string> = {}, method = 'GET') => send(port, path, { host: 'api.example.com', ...headers }, method);

    // prefix + prefix_rewrite + route and virtual-host request headers + router-level response header
    const v1 = await api('/v1/items?page=2');
    assert.equal(v1.status, 200);
    assert.deepEqual([v1.seen().origin, v1.seen().url], ['v1', '/api/items?page=2']);
    assert.equal(v1.seen().headers['x-api-version'], '1');
    assert.equal(v1.seen().headers['x-virtual-host'], 'api');
    assert.equal(v1.headers['x-served-by'], 'skiff');
    // header match (regex) wins over later path rules: first match in config order
    assert.equal((await api('/v1/items', { 'x-canary': 'true' })).seen().origin, 'v2');
    assert.equal((await api('/v1/items', { 'x-canary': 'yes' })).seen().origin, 'v1');
    // the special header name "method"
    const del = await api('/v1/items', {}, 'DELETE');
    assert.deepEqual([del.status, del.body], [405, 'DELETE is not allowed on this API\n']);
    // exact path → redirect (query kept)
    const moved = await api('/v1/legacy?x=1');
    assert.equal(moved.status, 301);
    assert.equal(moved.headers.location, 'http://api.example.com/v2/items?x=1');
    // regex match + regex_rewrite with a capture group
    assert.equal((await api('/users/42')).seen().url, '/api/user/42');
    assert.equal((await api('/users/42x')).seen().url, '/users/42x', 'falls through to the catch-all route');
    // catch-all: appended and removed request headers
    const tagged = await api('/anything', { 'x-trace-tag': 'client', 'x-internal-debug': '1' });
    assert.equal(tagged.seen().headers['x-trace-tag'], 'client, edge');
    assert.equal(tagged.seen().headers['x-internal-debug'], undefined);
    // weighted clusters 80/20
    const shop: string[] = [];
    for (let i = 0; i < 60; i++) shop.push((await api(`/shop/cart/${i}`)).seen().origin);
    const byOrigin = countBy(shop);
    assert.ok((byOrigin['v1'] ?? 0) > (byOrigin['v2'] ?? 0) && (byOrigin['v2'] ?? 0) > 0, JSON.stringify(byOrigin));

    // wildcard domain + host_rewrite + virtual-host response header add/remove
    for (const host of ['static.example.com', 'img.static.example.com']) {
      const r = await send(port, '/logo.png', { host });
      assert.equal(r.seen().origin, 'static', host);
      assert.equal(r.seen().headers.host, 'files.internal');
      assert.equal(r.headers['cache-control'], 'public, max-age=60');
      assert.equal(r.headers['x-origin-secret'], undefined);
      assert.equal(r.headers['x-served-by'], 'skiff');
    }
    // the "*" virtual host: direct response, redirect with scheme + host, and 404 (NR) when nothing matches
    const health = await send(port, '/health', { host: 'anything.test' });
    assert.deepEqual([health.status, health.body], [200, 'ok\n']);
    const docs = await send(port, '/docs/intro?lang=en', { host: 'www.example.com' });
    assert.equal(docs.status, 302);
    assert.equal(docs.headers.location, 'https://docs.example.com/docs/intro?lang=en');
    const none = await send(port, '/nope', { host: 'www.example.com' });
    assert.equal(none.status, 404);
    assert.match(none.body, /\(NR\)\n$/);
    const running = skiff;
    await running.waitFor(() => / code=404 flag=NR /.test(running.stdout), 5000, 'NR in the access log');
    assert.equal(origins[0]!.seen.filter((s) => s.url.startsWith('/nope') || s.url.startsWith('/health')).length, 0);
  } finally {
    await skiff?.stop();
    await closeOrigins(origins);
    ex.cleanup();
  }
});

test('examples/http-cluster: LB policies, max_request_per_conn, idle_timeout, and 503 local replies with flags', async () => {
  const ex = await prepare('http-cluster', 'config.json');
  const [a, b, c, d] = [await httpOrigin('a', ex.port(8080)), await httpOrigin('b', ex.port(8081)), await httpOrigin('c', ex.port(8082)), await httpOrigin('d', ex.port(8083))];
  const origins = [a!, b!, c!, d!];
  let skiff: SkiffProcess | undefined;
  try {
    skiff = await SkiffProcess.start(ex.path);
    // the only warning: the route that demonstrates 503 NC names a cluster on purpose left undefined
    const warnings = (await validates(ex.path)).split('\n').filter((l) => /warning/.test(l));
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0]!, /cluster "no_such_cluster" is not defined/);
    const port = await skiff.waitForListener('lb_listener');
    const origin = async (path: string) => (await send(port, path)).seen().origin;
    const run = async (prefix: string, n: number) => {
      const out: string[] = [];
      for (let i = 0; i < n; i++) out.push(await origin(`${prefix}${i}`));
      return out;
    };

    const rr = await run('/rr/', 6);
    assert.deepEqual(countBy(rr), { a: 2, b: 2, c: 2 }, rr.join());
    assert.notEqual(rr[0], rr[1]);
    const weighted = countBy(await run('/weighted/', 12));
    assert.ok((weighted['a'] ?? 0) >= 2 && (weighted['a'] ?? 0) <= 4 && (weighted['b'] ?? 0) === 12 - (weighted['a'] ?? 0), `EDF by weight 1:3: ${JSON.stringify(weighted)}`);
    assert.deepEqual(Object.keys(countBy(await run('/random/', 40))).sort(), ['a', 'b']);

    // LB_LEAST_REQUEST: while one request is held on a host, the other host has fewer active requests.
    const held = send(port, '/least/hold');
    await skiff.waitFor(() => a!.seen.concat(b!.seen).some((s) => s.url === '/least/hold'), 5000, 'held request at an origin');
    const busy = a!.seen.some((s) => s.url === '/least/hold') ? 'a' : 'b';
    assert.deepEqual(countBy(await run('/least/', 4)), { [busy === 'a' ? 'b' : 'a']: 4 });
    a!.release();
    b!.release();
    assert.equal((await held).body, 'released');

    // max_request_per_conn 2: five sequential requests use three upstream connections;
    // idle_timeout 1s: the last one (one request on it) is closed by Skiff about a second later.
    for (let i = 0; i < 5; i++) assert.equal(await origin(`/short-lived/${i}`), 'd');
    const perConnection = Object.values(countBy(d!.seen.map((s) => String(s.remotePort)))).sort();
    assert.deepEqual(perConnection, [1, 2, 2], 'requests per upstream connection');
    assert.equal(d!.connections.length, 3);
    const last = d!.connections.at(-1)!;
    const lastResponseAt = Date.now();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(last.closedAt, 0, 'still pooled shortly after the response');
    await skiff.waitFor(() => d!.connections.every((x) => x.closedAt !== 0), 5000, 'idle upstream connection closed by Skiff');
    assert.ok(last.closedAt - lastResponseAt >= 700, `closed after ${last.closedAt - lastResponseAt} ms`);

    // local replies: one text line ending in the response flag, the same flag in the access log
    for (const [path, status, flag] of [['/down/x', 503, 'UF'], ['/empty/x', 503, 'UH'], ['/missing/x', 503, 'NC']] as const) {
      const r = await send(port, path);
      assert.equal(r.status, status, path);
      assert.match(r.body, new RegExp(`\\(${flag}\\)\\n$`), path);
      assert.match(String(r.headers['content-type']), /^text\/plain/);
      const running = skiff;
      await running.waitFor(() => new RegExp(` code=${status} flag=${flag}`).test(running.stdout), 5000, `${flag} in the access log`);
    }
  } finally {
    await skiff?.stop();
    await closeOrigins(origins);
    ex.cleanup();
  }
});

test('examples/bolt: routing by service (exact and regex), round robin over a multiplexed pool, GoAway on stop', async () => {
  const ex = await prepare('bolt', 'config.json');
  const servers = [
    await startBoltServer({ name: 'order1', port: ex.port(12201) }), await startBoltServer({ name: 'order2', port: ex.port(12202) }),
    await startBoltServer({ name: 'user', port: ex.port(12203) }), await startBoltServer({ name: 'legacy', port: ex.port(12209) }),
  ];
  let skiff: SkiffProcess | undefined;
  try {
    skiff = await SkiffProcess.start(ex.path);
    await validates(ex.path);
    const port = await skiff.waitForListener('bolt_ingress');
    const c = await boltClient(port);
    const orders = await Promise.all([1, 2, 3, 4].map((i) => c.call(i, 'com.example.OrderService:1.0', `o${i}`)));
    assert.deepEqual(new Set(orders.map((f) => boltContent(f).split(':')[0])), new Set(['order1', 'order2']), 'round robin over both hosts');
    assert.equal(boltContent(await c.call(5, 'com.example.UserService:1.0', 'u')), 'user:u');
    assert.equal(boltContent(await c.call(6, 'com.example.legacy.Billing:1.0', 'l')), 'legacy:l', 'regex service rule');
    assert.equal((await c.call(7, 'com.example.Unknown:1.0', 'x')).status, BoltStatus.NoProcessor);
    assert.equal(servers[0]!.accepted + servers[1]!.accepted, 2, 'one multiplexed upstream connection per host');
    skiff.child.kill('SIGTERM');
    assert.ok(await c.until((fs) => fs.some((f) => f.kind === XFrameKind.GoAway), 3000), 'enable_bolt_goaway: GoAway on graceful stop (SIGTERM)');
    assert.equal((await skiff.exited).code, 0, 'the drain ends when the idle RPC connection has its GoAway');
    c.close();
  } finally {
    await skiff?.stop();
    for (const s of servers) await s.close();
    ex.cleanup();
  }
});

/** A Dubbo provider answering every request with `name:<method>`. */
async function dubboProvider(name: string, port: number): Promise<net.Server> {
  const server = net.createServer((s) => {
    s.on('error', () => {});
    let rest = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      rest = Buffer.concat([rest, d]);
      for (;;) {
        const r = DubboCodec.decode(rest, 0, { maxFrameBytes: 1 << 20 });
        if (r.kind !== 0) break;
        rest = rest.subarray(r.consumed);
        if (r.frame.kind === XFrameKind.Request) s.write(encodeDubboResponse(r.frame.requestId, DubboStatus.Ok, dubboValueBody(`${name}:${r.frame.headers.get('method') ?? ''}`)));
      }
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return server;
}

test('examples/dubbo: routing by service + version, group and method; Auto detection; 60 for no route', async () => {
  const ex = await prepare('dubbo', 'config.json');
  const providers = [await dubboProvider('v1', ex.port(20881)), await dubboProvider('v2', ex.port(20882)), await dubboProvider('canary', ex.port(20883))];
  let skiff: SkiffProcess | undefined;
  try {
    skiff = await SkiffProcess.start(ex.path);
    await validates(ex.path);
    const port = await skiff.waitForListener('dubbo_ingress');
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    const got = new Map<number, { status: number; body: string }>();
    let rest = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      rest = Buffer.concat([rest, d]);
      for (;;) {
        const r = DubboCodec.decode(rest, 0, { maxFrameBytes: 1 << 20 });
        if (r.kind !== 0) break;
        rest = rest.subarray(r.consumed);
        got.set(r.frame.requestId, { status: r.frame.status, body: r.frame.bytes.subarray(16).toString('latin1') });
      }
    });
    const call = async (id: number, service: string, method: string, version: string, attachments: Record<string, string> = {}) => {
      s.write(encodeDubboRequest({ requestId: id, service, method, version, attachments }));
      const until = Date.now() + 3000;
      while (!got.has(id)) { if (Date.now() > until) throw new Error(`no response to ${id}`); await new Promise((r) => setTimeout(r, 5)); }
      return got.get(id)!;
    };
    assert.match((await call(1, 'com.example.DemoService', 'sayHello', '1.0.0')).body, /v1:sayHello/);
    assert.match((await call(2, 'com.example.DemoService', 'sayHello', '2.0.0')).body, /v2:sayHello/, 'by version');
    assert.match((await call(3, 'com.example.DemoService', 'sayHello', '1.0.0', { group: 'canary' })).body, /canary:sayHello/, 'by group');
    const none = await call(4, 'com.example.Other', 'x', '1.0.0');
    assert.equal(none.status, DubboStatus.ServiceNotFound);
    const http = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(http.status, 404, 'HTTP/1 detected on the same Auto port (no HTTP route: 404)');
    s.destroy();
  } finally {
    await skiff?.stop();
    await closeAll(providers);
    ex.cleanup();
  }
});

test('examples/tls: SNI certificates, inspector, mTLS with the peer id in the access log, upstream TLS with a client certificate', async () => {
  const ex = await prepare('tls', 'config.json');
  const certs = join(ex.dir, 'certs');
  execFileSync('bash', [join(EXAMPLES, 'tls', 'make-certs.sh'), certs], { stdio: 'ignore' });
  const read = (f: string): string => readFileSync(join(certs, f), 'utf8');
  const app = await startOrigin('app', undefined, ex.port(8080));
  const secure = await startOrigin('secure', { cert: read('server.crt'), key: read('server.key'), ca: read('ca.crt'), requestCert: true, rejectUnauthorized: true }, ex.port(8443));
  let skiff: SkiffProcess | undefined;
  try {
    skiff = await SkiffProcess.start(ex.path);
    await validates(ex.path);
    const edge = await skiff.waitForListener('edge_tls');
    const mtls = await skiff.waitForListener('mtls_ingress');
    const ca = read('ca.crt');
    const local = await tlsGet(edge, { ca, servername: 'localhost' });
    assert.equal(local.body, 'app');
    const other = await tlsGet(edge, { ca, servername: 'other.test', hostHeader: 'other.test' });
    assert.equal(other.status, 200, 'SNI other.test verified against its own certificate');
    assert.notEqual(other.serial, local.serial);
    assert.equal((await tlsGet(edge, { ca, servername: 'localhost', path: '/secure' })).body, 'secure|peer=client', 'upstream TLS with the client certificate');
    const plainText = await rawRequest(edge, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.ok(plainText.status === 200 && plainText.body.toString() === 'app', 'plaintext on the inspector port');
    assert.equal((await tlsGet(mtls, { ca, servername: 'localhost' })).status, 0, 'no client certificate: refused');
    await skiff.waitFor(() => skiff!.logs.some((l) => l.msg === 'TLS client certificate refused' && String(l['reason']).startsWith('client_certificate_')), 3000, 'the refusal logged with its reason');
    const withCert = await tlsGet(mtls, { ca, servername: 'localhost', cert: read('client.crt'), key: read('client.key') });
    assert.equal(withCert.status, 200);
    await skiff.waitFor(() => skiff!.stdout.includes('peer=spiffe://cluster.local/ns/default/sa/client TLSv1.3'), 3000, 'the mTLS access-log line');
  } finally {
    await skiff?.stop();
    await app.close();
    await secure.close();
    ex.cleanup();
  }
});


test('examples/grpc: gRPC unary and streaming over h2c, UNAVAILABLE when the upstream is down, HTTP/1 conversion', async () => {
  const ex = await prepare('grpc', 'config.json');
  const id = (b: Buffer): Buffer => b;
  const def = {
    sayHello: { path: '/helloworld.Greeter/SayHello', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id },
    chat: { path: '/helloworld.Greeter/Chat', requestStream: true, responseStream: true, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id },
  } as const;
  const server = new grpc.Server();
  server.addService(def as unknown as grpc.ServiceDefinition, {
    sayHello: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.concat([Buffer.from('hello '), call.request])),
    chat: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => { call.on('data', (d: Buffer) => call.write(d)); call.on('end', () => call.end()); },
  });
  await new Promise<void>((resolve, reject) => server.bindAsync(`127.0.0.1:${ex.port(50051)}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
  const legacy = await startOrigin('legacy', undefined, ex.port(8080));
  let skiff: SkiffProcess | undefined;
  const Client = grpc.makeGenericClientConstructor(def as unknown as grpc.ServiceDefinition, 'Greeter');
  let client: grpc.Client | undefined;
  try {
    skiff = await SkiffProcess.start(ex.path);
    await validates(ex.path);
    const port = await skiff.waitForListener('grpc_ingress');
    client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const c = client as unknown as Record<string, (...a: unknown[]) => unknown>;
    const unary = (msg: string): Promise<{ code: number; text: string }> => new Promise((resolve) => {
      c['sayHello']!(Buffer.from(msg), (err: grpc.ServiceError | null, v: Buffer) => resolve(err ? { code: err.code, text: err.details } : { code: 0, text: v.toString() }));
    });
    assert.deepEqual(await unary('skiff'), { code: 0, text: 'hello skiff' });
    const stream = c['chat']!() as grpc.ClientDuplexStream<Buffer, Buffer>;
    const got: string[] = [];
    stream.on('data', (d: Buffer) => got.push(d.toString()));
    for (let i = 0; i < 100; i++) stream.write(Buffer.from(`m${i}`));
    stream.end();
    await new Promise((r) => stream.on('end', r));
    assert.equal(got.length, 100);
    assert.equal(got[99], 'm99');
    const legacyReply = await rawRequest(port, 'GET /legacy/x HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(legacyReply.body.toString(), 'legacy');
    server.forceShutdown();
    const down = await unary('again');
    assert.equal(down.code, grpc.status.UNAVAILABLE, down.text);
  } finally {
    client?.close();
    server.forceShutdown();
    await skiff?.stop();
    await legacy.close();
    ex.cleanup();
  }
});
