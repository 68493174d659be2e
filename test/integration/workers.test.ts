/**
 * Worker processes (issue 7 point 1): `processor` / `--workers` N > 1 runs one controller that binds
 * the listeners and serves the admin API, and N workers that accept on the same sockets. Real CLI,
 * real sockets, port 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import http from 'node:http';
import { httpRequest, runCli, SkiffProcess, tempDir, writeJson } from '../fakes/skiff-process.js';
import { alive, proxyListener, requestTotal, workerPidsFromLogs, workers, type WorkerRow } from '../fakes/upgrade-helpers.js';

const httpListener = (name: string, router: string): Record<string, unknown> => proxyListener(name, 'Http1', router);

function router(name: string, body: string): Record<string, unknown> {
  return {
    router_config_name: name,
    virtual_hosts: [{ name: 'v', domains: ['*'], routers: [{ match: { prefix: '/' }, direct_response: { status: 200, body } }] }],
  };
}

function config(options: { processor?: number | string; body?: string; listeners?: Record<string, unknown>[]; routers?: Record<string, unknown>[] } = {}): Record<string, unknown> {
  return {
    servers: [
      {
        default_log_path: 'stderr',
        graceful_timeout: '2s',
        ...(options.processor === undefined ? {} : { processor: options.processor }),
        listeners: options.listeners ?? [httpListener('web', 'r')],
        routers: options.routers ?? [router('r', options.body ?? 'hello')],
      },
    ],
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } },
  };
}

/** Starts skiff and waits for the controller's own "skiff is running" (after every worker is ready). */
async function startWorkers(doc: Record<string, unknown>, args: string[] = []): Promise<{ p: SkiffProcess; cleanup: () => Promise<void> }> {
  const dir = tempDir();
  const p = await SkiffProcess.start(writeJson(dir.dir, 'skiff.json', doc), args);
  const cleanup = async (): Promise<void> => {
    const pids = workerPidsFromLogs(p);
    await p.stop();
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    dir.cleanup();
  };
  try {
    await p.waitFor(() => p.logs.some((l) => l.msg === 'skiff is running' && l['role'] === 'controller'), 10_000, 'the controller to be running');
  } catch (err) {
    await cleanup();
    throw err;
  }
  return { p, cleanup };
}

/** The shared listener's port, from the controller's "listener bound" line. */
function port(p: SkiffProcess, name: string): number {
  const line = [...p.logs].reverse().find((l) => l.msg === 'listener bound' && l['listener'] === name && l['role'] === 'controller');
  assert.ok(line, `controller bound ${name}`);
  return Number(String(line['address']).split(':').pop());
}

/** `n` GETs, each on a new connection, `concurrency` at a time; returns the bodies (or `error: …`). */
async function requests(listenerPort: number, n: number, concurrency = 8): Promise<string[]> {
  const out: string[] = [];
  let next = 0;
  const one = async (): Promise<void> => {
    while (next < n) {
      next++;
      try {
        const r = await httpRequest(listenerPort, 'GET', '/');
        out.push(r.status === 200 ? r.body : `status ${r.status}`);
      } catch (err) {
        out.push(`error: ${(err as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, one));
  return out;
}

test('processor 2: two workers serve one shared port; admin stats are the sum over workers', async () => {
  const { p, cleanup } = await startWorkers(config({ processor: 2 }));
  try {
    const rows = await workers(p);
    assert.equal(rows.length, 2);
    assert.deepEqual(rows.map((r) => r.state), ['running', 'running']);
    const pids = new Set(rows.map((r) => r.pid));
    assert.equal(pids.size, 2);
    assert.ok(!pids.has(p.child.pid as number), 'workers are not the controller');
    for (const pid of pids) assert.ok(alive(pid));
    // Both workers bound the controller's one port (no worker bound a port of its own). Worker log
    // lines may reach the pipe after the controller's, so wait for both.
    const inherited = (): number => p.logs.filter((l) => l.msg === 'listener bound' && l['inherited'] === true).length;
    await p.waitFor(() => inherited() >= 2, 5000, 'both workers\' listener lines');
    const bound = p.logs.filter((l) => l.msg === 'listener bound' && l['inherited'] === true).map((l) => Number(String(l['address']).split(':').pop()));
    assert.deepEqual(bound, [port(p, 'web'), port(p, 'web')]);
    const bodies = await requests(port(p, 'web'), 200);
    assert.equal(bodies.length, 200);
    assert.deepEqual(new Set(bodies), new Set(['hello']));
    assert.equal(await requestTotal(p.adminPort), 200);
    assert.equal((await p.admin('GET', '/ready')).status, 200);
  } finally {
    await cleanup();
  }
});

test('a worker killed with SIGKILL is replaced; the other keeps serving', async () => {
  const { p, cleanup } = await startWorkers(config({ processor: 2 }));
  try {
    const listenerPort = port(p, 'web');
    const before = await workers(p);
    const victim = before[0]?.pid as number;
    let stop = false;
    const results: string[] = [];
    const loop = (async () => {
      while (!stop) {
        try {
          const r = await httpRequest(listenerPort, 'GET', '/');
          results.push(r.status === 200 ? r.body : `status ${r.status}`);
        } catch (err) {
          results.push(`error: ${(err as Error).message}`);
        }
      }
    })();
    await new Promise((r) => setTimeout(r, 200));
    process.kill(victim, 'SIGKILL');
    let after: WorkerRow[] = [];
    const until = Date.now() + 8000;
    while (Date.now() < until) {
      after = await workers(p);
      if (after[0]?.state === 'running' && after[0].pid !== victim) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const servedBeforeReplacement = results.length;
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await loop;
    assert.equal(after[0]?.state, 'running', 'slot 0 has a worker again');
    assert.notEqual(after[0]?.pid, victim);
    assert.equal(after[0]?.restarts, 1);
    assert.equal(after[1]?.pid, before[1]?.pid, 'the other worker was untouched');
    assert.ok(results.length > servedBeforeReplacement, 'requests after the replacement');
    // One request at a time: at most the one the killed worker had accepted fails.
    const failures = results.filter((r) => r !== 'hello');
    assert.ok(failures.length <= 1, `failures: ${failures.join(', ')}`);
    assert.ok(p.logs.some((l) => l.msg === 'worker exited unexpectedly; replacing it' && l['signal'] === 'SIGKILL'));
  } finally {
    await cleanup();
  }
});

test('a config update reaches every worker; an added listener is served by the workers', async () => {
  const { p, cleanup } = await startWorkers(config({ processor: 2 }));
  try {
    const web = port(p, 'web');
    const changed = config({ processor: 2, body: 'changed' });
    const r = await p.admin('POST', '/api/v1/config', { body: changed });
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json<{ version: number }>().version, 2);
    assert.deepEqual(new Set(await requests(web, 60)), new Set(['changed']));
    const pidsBefore = (await workers(p)).map((w) => w.pid);

    // A new listener: the controller binds it and rolls the workers onto the new socket set.
    const added = config({ processor: 2, listeners: [httpListener('web', 'r'), httpListener('api', 'r2')], routers: [router('r', 'changed'), router('r2', 'second')] });
    const r2 = await p.admin('POST', '/api/v1/config', { body: added });
    assert.equal(r2.status, 200, r2.body);
    assert.deepEqual(r2.json<{ added: { listeners: string[] } }>().added.listeners, ['api']);
    const api = port(p, 'api');
    assert.deepEqual(new Set(await requests(api, 40)), new Set(['second']));
    assert.deepEqual(new Set(await requests(web, 40)), new Set(['changed']), 'the old listener keeps its port');
    const rows = await workers(p);
    const running = rows.filter((w) => w.state === 'running');
    assert.equal(running.length, 2);
    for (const w of running) assert.ok(!pidsBefore.includes(w.pid), 'workers were replaced onto the new sockets');
    // A bad document changes nothing.
    const bad = await p.admin('POST', '/api/v1/config', { body: { servers: [] } });
    assert.equal(bad.status, 400);
    assert.deepEqual(new Set(await requests(api, 10)), new Set(['second']));
  } finally {
    await cleanup();
  }
});

test('SIGTERM: every worker exits and the controller exits 0', async () => {
  const { p, cleanup } = await startWorkers(config({ processor: 2 }));
  try {
    const pids = (await workers(p)).map((w) => w.pid);
    assert.equal(pids.length, 2);
    p.signal('SIGTERM');
    const exit = await p.exited;
    assert.equal(exit.code, 0);
    for (const pid of pids) {
      const until = Date.now() + 2000;
      while (alive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      assert.ok(!alive(pid), `worker ${pid} exited`);
    }
  } finally {
    await cleanup();
  }
});

test('--workers 1 overrides processor: one process, no children', async () => {
  const dir = tempDir();
  const p = await SkiffProcess.start(writeJson(dir.dir, 'skiff.json', config({ processor: 2 })), ['--workers', '1']);
  try {
    const rows = await workers(p);
    assert.deepEqual(rows, [{ index: 0, pid: p.child.pid, state: 'running', restarts: 0 }]);
    assert.ok(!p.logs.some((l) => l.msg === 'worker forked'));
    const children = `/proc/${p.child.pid}/task/${p.child.pid}/children`;
    if (existsSync(children)) assert.equal(readFileSync(children, 'utf8').trim(), '');
    assert.deepEqual(new Set(await requests(p.listenerPort('web'), 20)), new Set(['hello']));
  } finally {
    await p.stop();
    dir.cleanup();
  }
});

test('processor "auto" starts one worker per core', async () => {
  const { p, cleanup } = await startWorkers(config({ processor: 'auto' }));
  try {
    const n = availableParallelism();
    if (n < 2) {
      assert.ok(!p.logs.some((l) => l.msg === 'worker forked'));
      return;
    }
    const rows = await workers(p);
    assert.equal(rows.length, n);
    assert.ok(rows.every((w) => w.state === 'running'));
  } finally {
    await cleanup();
  }
});

test('workers that cannot start (3 failures in a row) fail the start: exit 1 with the worker\'s error', async () => {
  const dir = tempDir();
  try {
    // The filter's config is valid (the controller validates it), but building the listener throws,
    // which only a worker does.
    writeFileSync(
      join(dir.dir, 'broken.mjs'),
      "export default { kind: 'network_filter', name: 'broken', parseConfig: (raw) => raw ?? {}, create() { throw new Error('broken filter cannot start'); } };\n",
    );
    const doc = config({ processor: 2, listeners: [{ name: 'b', address: '127.0.0.1:0', bind_port: true, filter_chains: [{ filters: [{ type: 'broken', skiff_module: './broken.mjs', config: {} }] }] }] });
    const result = await runCli(['start', '-c', writeJson(dir.dir, 'skiff.json', doc)], { timeoutMs: 20_000 });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^skiff: .*broken filter cannot start/m);
    const forked = result.stderr.split('\n').filter((l) => l.includes('"worker forked"'));
    assert.ok(forked.length >= 3, `retried before giving up (${forked.length} forks)`);
    for (const line of forked) {
      const pid = Number((JSON.parse(line) as { workerPid: number }).workerPid);
      const until = Date.now() + 2000;
      while (alive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      assert.ok(!alive(pid), `worker ${pid} is gone`);
    }
  } finally {
    dir.cleanup();
  }
});

function unixGet(path: string): Promise<string> {
  return new Promise((resolve) => {
    const req = http.request({ socketPath: path, path: '/', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('error', (err) => resolve(`error: ${err.message}`));
    req.end();
  });
}

test('a unix-socket listener is shared too, and survives the workers being replaced', async () => {
  const dir = tempDir();
  const sock = join(dir.dir, 'skiff.sock');
  const unixListener = { ...httpListener('u', 'r'), address: `unix:${sock}` };
  const { p, cleanup } = await startWorkers(config({ processor: 2, listeners: [unixListener] }));
  try {
    assert.equal(await unixGet(sock), 'hello');
    // Adding a TCP listener rolls both workers; the old ones drain and exit.
    const r = await p.admin('POST', '/api/v1/config', { body: config({ processor: 2, listeners: [unixListener, httpListener('t', 'r')] }) });
    assert.equal(r.status, 200, r.body);
    await p.waitFor(() => p.logs.filter((l) => l.msg === 'old worker drained and exited').length === 2, 8000, 'the old workers to exit');
    for (let i = 0; i < 10; i++) assert.equal(await unixGet(sock), 'hello', 'the socket file is still served');
    assert.equal((await httpRequest(port(p, 't'), 'GET', '/')).body, 'hello');
  } finally {
    await cleanup();
    dir.cleanup();
  }
});
