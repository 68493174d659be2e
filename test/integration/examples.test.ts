/**
 * Every config under examples/ is validated with `--strict`-free `skiff validate` and then started
 * and exercised over real sockets. The example files keep their documented fixed ports; the test
 * maps each fixed port (and /tmp socket path) to a free one in a temp copy, so runs never collide.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, SkiffProcess, tempDir } from '../fakes/skiff-process.js';

const EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url));

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

/** Copies an example into a temp dir with every fixed port and /tmp socket path remapped. */
async function prepare(example: string, file: string): Promise<Prepared> {
  const { dir, cleanup } = tempDir();
  let text = readFileSync(join(EXAMPLES, example, file), 'utf8');
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
  for (const f of readdirSync(join(EXAMPLES, example))) if (f.endsWith('.mjs')) copyFileSync(join(EXAMPLES, example, f), join(dir, f));
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
