// What the proxy does to headers and paths (issue 3 Deliver 2–4), seen on the wire at a raw origin:
// names' case and order preserved both ways, hop-by-hop and Connection-listed fields removed,
// X-Forwarded-For / X-Forwarded-Proto / x-request-id added, underscore policy, absolute-form targets,
// path normalisation (a deny route cannot be bypassed by spelling) and its off switch, routing through
// the real proxy (domains, header rules, weighted clusters, rewrites, header mutation with %variables%,
// direct responses, redirects, 404 NR), and curl as a real client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { l7Document, startSkiff, type L7DocumentOptions, type SkiffInProcess } from '../fakes/l7-harness.js';
import { headerOf, RawClient, rawRequest, responseBytes, ScriptedOrigin, type OriginRequest, type ScriptedOriginOptions } from '../fakes/scripted-origin.js';

const run = promisify(execFile);

interface Rig { origin: ScriptedOrigin; skiff: SkiffInProcess; port: number; close(): Promise<void> }

async function rig(doc: Partial<L7DocumentOptions> = {}, originOptions: ScriptedOriginOptions = {}, extraOrigins = 0): Promise<Rig & { others: ScriptedOrigin[] }> {
  const origin = await ScriptedOrigin.start(originOptions);
  const others: ScriptedOrigin[] = [];
  for (let i = 0; i < extraOrigins; i++) others.push(await ScriptedOrigin.start(originOptions));
  const clusters: Record<string, string[]> = { c1: [origin.address] };
  others.forEach((o, i) => { clusters[`c${i + 2}`] = [o.address]; });
  const skiff = await startSkiff(l7Document({ clusters, ...doc }));
  return {
    origin, others, skiff, port: skiff.port(),
    async close() { await skiff.close(); await origin.close(); for (const o of others) await o.close(); },
  };
}

/** Header names in order, as the origin received them. */
const names = (r: OriginRequest): string[] => r.headers.map(([n]) => n);

test('request header names keep their case and order; hop-by-hop and Connection-listed fields are removed; XFF, X-Forwarded-Proto and x-request-id added', async () => {
  const r = await rig();
  try {
    const res = await rawRequest(r.port, 'GET /case HTTP/1.1\r\nHost: a\r\nX-MiXeD-Case: 1\r\naccept: */*\r\nConnection: keep-alive, X-Private\r\n'
      + 'X-Private: secret\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Connection: keep-alive\r\nUpgrade: foo\r\nX-Forwarded-For: 10.0.0.1\r\nZeta: last\r\n\r\n');
    assert.equal(res.status, 200);
    const seen = r.origin.completed.at(-1)!;
    assert.deepEqual(names(seen).slice(0, 3), ['Host', 'X-MiXeD-Case', 'accept'], 'original case and order');
    for (const hop of ['connection', 'x-private', 'keep-alive', 'te', 'proxy-connection', 'upgrade']) {
      assert.equal(headerOf(seen.headers, hop), undefined, `${hop} removed`);
    }
    assert.equal(headerOf(seen.headers, 'x-forwarded-for'), '10.0.0.1, 127.0.0.1', 'client address appended');
    assert.equal(headerOf(seen.headers, 'x-forwarded-proto'), 'http');
    assert.match(headerOf(seen.headers, 'x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    assert.ok(names(seen).indexOf('Zeta') > names(seen).indexOf('X-Forwarded-For'), 'the rest keeps its order');

    await rawRequest(r.port, 'GET /rid HTTP/1.1\r\nHost: a\r\nx-request-id: mine-123\r\n\r\n');
    const rid = r.origin.completed.at(-1)!.headers.filter(([n]) => n.toLowerCase() === 'x-request-id');
    assert.deepEqual(rid.map(([, v]) => v), ['mine-123'], 'an existing x-request-id is kept, not duplicated');
  } finally {
    await r.close();
  }
});

test('response header names keep their case and order to the client; hop-by-hop response fields removed', async () => {
  const r = await rig({}, {
    onRequest(_req, conn) {
      conn.socket.write(responseBytes(200, [['X-Upper', 'A'], ['x-lower', 'b'], ['Keep-Alive', 'timeout=30'], ['Connection', 'X-Hop'], ['X-Hop', 'h'], ['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2']], 'ok'));
    },
  });
  try {
    const res = await rawRequest(r.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    const got = res.headers.map(([n]) => n);
    assert.deepEqual(got.slice(0, 4), ['X-Upper', 'x-lower', 'Set-Cookie', 'Set-Cookie'], res.rawHead);
    assert.equal(headerOf(res.headers, 'x-hop'), undefined);
    assert.equal(headerOf(res.headers, 'keep-alive'), undefined);
  } finally {
    await r.close();
  }
});

test('underscore header names: dropped by default, kept with "allow" (MOSN), 400 with "reject"', async () => {
  for (const [action, expect] of [['drop', 'dropped'], ['allow', 'kept'], ['reject', 'rejected']] as const) {
    const r = await rig(action === 'drop' ? {} : { proxy: { extend_config: { Http1: { headers_with_underscores_action: action } } } });
    try {
      const res = await rawRequest(r.port, 'GET /u HTTP/1.1\r\nHost: a\r\nX_Under: 1\r\nX-Dash: 2\r\n\r\n');
      if (expect === 'rejected') {
        assert.equal(res.status, 400);
        assert.equal(r.origin.requests.length, 0);
        continue;
      }
      assert.equal(res.status, 200);
      const seen = r.origin.completed.at(-1)!;
      assert.equal(headerOf(seen.headers, 'x_under'), expect === 'kept' ? '1' : undefined, action);
      assert.equal(headerOf(seen.headers, 'x-dash'), '2');
    } finally {
      await r.close();
    }
  }
});

test('absolute-form targets route by their authority and go upstream in origin-form', async () => {
  const r = await rig({
    virtualHosts: [
      { name: 'api', domains: ['api.example'], routers: [{ match: { prefix: '/' }, route: { cluster_name: 'c2' } }] },
      { name: 'all', domains: ['*'], routers: [{ match: { prefix: '/' }, route: { cluster_name: 'c1' } }] },
    ],
  }, {}, 1);
  try {
    const res = await rawRequest(r.port, 'GET http://api.example/v1/x?q=1 HTTP/1.1\r\nHost: api.example\r\n\r\n');
    assert.equal(res.status, 200);
    const seen = r.others[0]!.completed.at(-1)!;
    assert.equal(seen.target, '/v1/x?q=1', 'origin-form upstream');
    assert.equal(headerOf(seen.headers, 'host'), 'api.example');
    assert.equal(r.origin.requests.length, 0, 'the default virtual host was not used');
  } finally {
    await r.close();
  }
});

test('path normalisation: a deny route cannot be bypassed by spelling; the normalised path is forwarded; normalize_path:false keeps the raw path', async () => {
  const vhosts = [{ name: 'all', domains: ['*'], routers: [
    { match: { prefix: '/admin' }, direct_response: { status: 403, body: 'denied' } },
    { match: { prefix: '/' }, route: { cluster_name: 'c1' } },
  ] }];
  const r = await rig({ virtualHosts: vhosts });
  try {
    for (const spelling of ['/admin', '/./admin', '//admin', '/%61dmin', '/x/../admin', '/x/%2e%2e/admin', '/admin/../admin/panel']) {
      const res = await rawRequest(r.port, `GET ${spelling} HTTP/1.1\r\nHost: a\r\n\r\n`);
      assert.equal(res.status, 403, `${spelling} is denied`);
    }
    assert.equal(r.origin.requests.length, 0, 'no spelling reached the origin');
    const ok = await rawRequest(r.port, 'GET /a/./b//c/../d?x=/../y HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.equal(ok.status, 200);
    assert.equal(r.origin.completed.at(-1)!.target, '/a/b/d?x=/../y', 'normalised path forwarded, query untouched');
    const bad = await rawRequest(r.port, 'GET /bad%zz HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.equal(bad.status, 400, 'an invalid percent-encoding is rejected');
  } finally {
    await r.close();
  }
  const raw = await rig({ virtualHosts: vhosts, proxy: { extend_config: { Http1: { normalize_path: false } } } });
  try {
    const res = await rawRequest(raw.port, 'GET /a/./b//c HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.equal(res.status, 200);
    assert.equal(raw.origin.completed.at(-1)!.target, '/a/./b//c', 'path fidelity when switched off');
  } finally {
    await raw.close();
  }
});

test('routing through the proxy: domains with ports and wildcards, path (case-insensitive) and header rules, first match wins, 404 NR', async () => {
  const r = await rig({
    virtualHosts: [
      { name: 'exact-port', domains: ['www.example:8080'], routers: [{ match: { prefix: '/' }, direct_response: { status: 200, body: 'exact-port' } }] },
      { name: 'suffix', domains: ['*.example'], routers: [
        { match: { path: '/Exact' }, direct_response: { status: 200, body: 'path' } },
        { match: { prefix: '/h', headers: [{ name: 'x-ver', value: 'v2' }] }, direct_response: { status: 200, body: 'header-v2' } },
        { match: { prefix: '/h', headers: [{ name: 'method', value: 'POST' }] }, direct_response: { status: 200, body: 'method-post' } },
        { match: { regex: '/r[0-9]+' }, direct_response: { status: 200, body: 'regex' } },
        { match: { prefix: '/h' }, direct_response: { status: 200, body: 'prefix-h' } },
      ] },
      { name: 'prefix-wild', domains: ['api.*'], routers: [{ match: { prefix: '/' }, direct_response: { status: 200, body: 'api-wild' } }] },
    ],
  });
  const get = async (host: string, path: string, extra = '', method = 'GET'): Promise<string> => {
    const res = await rawRequest(r.port, `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}${method === 'POST' ? 'content-length: 0\r\n' : ''}\r\n`);
    return `${res.status} ${res.body.toString()}`;
  };
  try {
    assert.equal(await get('www.example:8080', '/'), '200 exact-port');
    assert.equal(await get('www.example', '/exact'), '200 path', 'path matches case-insensitively (MOSN)');
    assert.equal(await get('a.example', '/h', 'x-ver: v2\r\n'), '200 header-v2');
    assert.equal(await get('a.example', '/h', '', 'POST'), '200 method-post', 'header name "method" matches the method');
    assert.equal(await get('a.example', '/x/r42/y'), '200 regex', 'regex is unanchored (MOSN)');
    assert.equal(await get('a.example', '/h'), '200 prefix-h', 'first match wins; header rules did not match');
    assert.equal(await get('api.internal', '/'), '200 api-wild');
    const nr = await rawRequest(r.port, 'GET / HTTP/1.1\r\nHost: nowhere.test\r\n\r\n');
    assert.equal(nr.status, 404);
    assert.match(nr.body.toString(), /\(NR\)\n$/);
  } finally {
    await r.close();
  }
});

test('route actions: weighted clusters, prefix_rewrite (+ x-mosn-original-path), regex_rewrite, host_rewrite, header mutation at three levels with %variables%, redirect', async () => {
  const r = await rig({
    virtualHosts: [{
      name: 'vh', domains: ['*'],
      request_headers_to_add: [{ header: { key: 'x-vh', value: 'vh-level' }, append: true }],
      response_headers_to_add: [{ header: { key: 'x-resp-vh', value: '%x-mosn-method%' } }],
      routers: [
        { match: { prefix: '/w' }, route: { weighted_clusters: [{ cluster: { name: 'c1', weight: 80 } }, { cluster: { name: 'c2', weight: 20 } }] } },
        { match: { prefix: '/old' }, route: { cluster_name: 'c1', prefix_rewrite: '/new', host_rewrite: 'rewritten.example',
          request_headers_to_add: [{ header: { key: 'x-route', value: '%x-mosn-path%' } }, { header: { key: 'x-vh', value: 'route-level' } }],
          request_headers_to_remove: ['x-drop-me'], response_headers_to_remove: ['x-secret'] } },
        { match: { prefix: '/re' }, route: { cluster_name: 'c1', regex_rewrite: { pattern: { regex: '^/re/(\\w+)$' }, substitution: '/rx/${1}' } } },
        { match: { prefix: '/go' }, redirect: { response_code: 302, host_redirect: 'other.example', path_redirect: '/there' } },
      ],
    }],
  }, { onRequest(_req, conn) { conn.socket.write(responseBytes(200, [['x-secret', 's']], 'ok')); } }, 1);
  try {
    for (let i = 0; i < 400; i++) await rawRequest(r.port, `GET /w/${i} HTTP/1.1\r\nHost: a\r\n\r\n`);
    const share = r.origin.requests.length / 400;
    assert.ok(share > 0.7 && share < 0.9, `c1 got ${(share * 100).toFixed(1)}% (weight 80)`);
    assert.equal(r.origin.requests.length + r.others[0]!.requests.length, 400);

    const res = await rawRequest(r.port, 'GET /old/page?q=1 HTTP/1.1\r\nHost: a\r\nx-drop-me: 1\r\n\r\n');
    assert.equal(res.status, 200);
    assert.equal(headerOf(res.headers, 'x-secret'), undefined, 'response header removed');
    assert.equal(headerOf(res.headers, 'x-resp-vh'), 'GET', 'virtual-host response header with a %variable%');
    const seen = r.origin.completed.at(-1)!;
    assert.equal(seen.target, '/new/page?q=1', 'prefix_rewrite keeps the query');
    assert.equal(headerOf(seen.headers, 'x-mosn-original-path'), '/old/page');
    assert.equal(headerOf(seen.headers, 'host'), 'rewritten.example');
    assert.equal(headerOf(seen.headers, 'x-route'), '/old/page', '%x-mosn-path% is the path before rewriting');
    assert.equal(headerOf(seen.headers, 'x-vh'), 'route-level, vh-level', 'route level first, then the virtual host level (append)');
    assert.equal(headerOf(seen.headers, 'x-drop-me'), undefined);

    await rawRequest(r.port, 'GET /re/abc HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.equal(r.origin.completed.at(-1)!.target, '/rx/abc');

    const redirect = await rawRequest(r.port, 'GET /go?k=v HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.equal(redirect.status, 302);
    assert.equal(headerOf(redirect.headers, 'location'), 'http://other.example/there?k=v');
  } finally {
    await r.close();
  }
});

test('curl through the proxy: GET, POST with a body, HEAD, keep-alive reuse of one connection', async () => {
  const r = await rig({}, {
    onRequest(req, conn) {
      const body = `${req.method} ${req.target}\n`;
      // a HEAD response has the headers of the GET response and no body
      if (req.method === 'HEAD') conn.socket.write(responseBytes(200, [['content-length', String(body.length)]]));
      else conn.socket.write(responseBytes(200, [['x-got', String(req.bodyBytes)]], body));
    },
  });
  try {
    const url = `http://127.0.0.1:${r.port}`;
    const get = await run('curl', ['-sS', '-i', `${url}/hello`]);
    assert.match(get.stdout, /^HTTP\/1\.1 200/);
    assert.match(get.stdout, /GET \/hello\n$/);
    const post = await run('curl', ['-sS', '-i', '--data-binary', 'x'.repeat(5000), `${url}/up`]);
    assert.match(post.stdout, /x-got: 5000/i);
    const head = await run('curl', ['-sS', '-I', `${url}/h`]);
    assert.match(head.stdout, /^HTTP\/1\.1 200/);
    assert.match(head.stdout, /content-length: \d+/i);
    const two = await run('curl', ['-sS', '-v', `${url}/a`, `${url}/b`]);
    assert.match(two.stderr, /Re-using existing connection|Reusing existing connection/i, 'curl kept the connection alive');
  } finally {
    await r.close();
  }
});

test('Host header of an HTTP/1.0 request without Host routes to the default virtual host', async () => {
  const r = await rig();
  try {
    const c = await RawClient.connect(r.port);
    c.send('GET /ten HTTP/1.0\r\n\r\n');
    const res = (await c.readFinal({ timeoutMs: 3000 })).final;
    c.close();
    assert.equal(res.status, 200);
    assert.equal(r.origin.completed.at(-1)!.target, '/ten');
  } finally {
    await r.close();
  }
});
