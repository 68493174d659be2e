/** CLI: the real `skiff` binary's commands, messages and exit codes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { proxyConfig, runCli, tempDir, writeJson } from '../fakes/skiff-process.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

test('version prints "skiff <version> (node <v>)" and exits 0', async () => {
  const r = await runCli(['version']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^skiff \d+\.\d+\.\d+ \(node v\d+\.\d+\.\d+\)\n$/);
});

test('--help, -h and help print usage with examples', async () => {
  for (const arg of ['--help', '-h', 'help']) {
    const r = await runCli([arg]);
    assert.equal(r.code, 0, arg);
    assert.match(r.stdout, /skiff start -c FILE/);
    assert.match(r.stdout, /skiff validate -c FILE/);
    assert.match(r.stdout, /Examples:/);
  }
});

test('an unknown command or option is one line on stderr, exit 1', async () => {
  const r = await runCli(['frobnicate']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'skiff: unknown command "frobnicate" (see skiff --help)\n');
  const r2 = await runCli(['start', '--nope']);
  assert.equal(r2.code, 1);
  assert.equal(r2.stderr.trim().split('\n').length, 1);
});

test('validate: the bundled default config is valid with --strict and no warnings', async () => {
  const r = await runCli(['validate', '-c', join(repoRoot, 'configs/default.json'), '--strict']);
  assert.equal(r.stdout, 'config is valid\n');
  assert.equal(r.code, 0);
});

test('validate: an invalid config → each error with its JSON path, "config is invalid", exit 1', async () => {
  const t = tempDir();
  try {
    const doc = proxyConfig({ listeners: [{ name: 'l1', cluster: 'c1', address: '127.0.0.1:99999' }], clusters: [{ name: 'c1', ports: [1] }] });
    const file = writeJson(t.dir, 'bad.json', doc);
    const r = await runCli(['validate', '-c', file]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^error: servers\[0\]\.listeners\[0\]\.address: .*99999/m);
    assert.match(r.stdout, /config is invalid\n$/);
  } finally {
    t.cleanup();
  }
});

test('validate: an unknown key is a warning (exit 0); --strict makes it an error (exit 1)', async () => {
  const t = tempDir();
  try {
    const doc = proxyConfig({ listeners: [{ name: 'l1', cluster: 'c1' }], clusters: [{ name: 'c1', ports: [1] }] });
    ((doc['servers'] as Record<string, unknown>[])[0] as Record<string, unknown>)['graceful_timeuot'] = '1s';
    const file = writeJson(t.dir, 'warn.json', doc);
    const r = await runCli(['validate', '-c', file]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^warning: servers\[0\]\.graceful_timeuot: .*/m);
    assert.match(r.stdout, /config is valid\n$/);
    const strict = await runCli(['validate', '-c', file, '--strict']);
    assert.equal(strict.code, 1);
    assert.match(strict.stdout, /^error: servers\[0\]\.graceful_timeuot/m);
    assert.match(strict.stdout, /config is invalid\n$/);
  } finally {
    t.cleanup();
  }
});

test('a missing file is one line: cannot read config file "x": no such file', async () => {
  for (const cmd of ['validate', 'start']) {
    const r = await runCli([cmd, '-c', '/nonexistent/skiff.json']);
    assert.equal(r.code, 1, cmd);
    assert.equal(r.stderr, 'skiff: cannot read config file "/nonexistent/skiff.json": no such file\n', cmd);
  }
});

test('MOSN_CONFIG names the config when -c is absent; neither → one-line error', async () => {
  const r = await runCli(['validate'], { env: { ...process.env, MOSN_CONFIG: join(repoRoot, 'configs/default.json') } });
  assert.equal(r.code, 0, r.stderr);
  const env = { ...process.env };
  delete env['MOSN_CONFIG'];
  const none = await runCli(['start'], { env });
  assert.equal(none.code, 1);
  assert.match(none.stderr, /^skiff: no config file: use -c FILE \(or set MOSN_CONFIG\)\n$/);
});

test('bad JSON → file:line:col in one line on start, and on validate', async () => {
  const t = tempDir();
  try {
    const file = writeJson(t.dir, 'broken.json', '{\n  "servers": [\n    { "name": , }\n  ]\n}\n');
    const r = await runCli(['start', '-c', file]);
    assert.equal(r.code, 1);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0] as string, /^skiff: .*broken\.json:3:\d+: /);
    const v = await runCli(['validate', '-c', file]);
    assert.equal(v.code, 1);
    assert.match(v.stdout, /broken\.json:3:\d+: /);
    assert.match(v.stdout, /config is invalid\n$/);
  } finally {
    t.cleanup();
  }
});

test('a listener port already in use → one line naming the listener and address, exit 1', async () => {
  const t = tempDir();
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const doc = proxyConfig({
      listeners: [
        { name: 'free', cluster: 'c1' },
        { name: 'busy', cluster: 'c1', address: `127.0.0.1:${port}` },
      ],
      clusters: [{ name: 'c1', ports: [1] }],
      logPath: join(t.dir, 'skiff.log'),
    });
    const file = writeJson(t.dir, 'inuse.json', doc);
    const r = await runCli(['start', '-c', file]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `skiff: listener "busy": address 127.0.0.1:${port} is already in use\n`);
  } finally {
    blocker.close();
    t.cleanup();
  }
});
