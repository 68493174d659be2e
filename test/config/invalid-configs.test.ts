// Invalid configs are rejected with every problem named by its JSON path (test/config/invalid/*.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadConfigFile } from '../../src/config/index.js';
import { ConfigError, SkiffError } from '../../src/base/errors.js';
import { CONFIG_TEST_DIR, testRegistries } from './test-registries.js';

const invalid = (name: string) => join(CONFIG_TEST_DIR, 'invalid', name);

/** Loads `file` expecting a ConfigError; returns its issues as `path: message` lines. */
async function rejects(file: string, strict = false): Promise<string[]> {
  try {
    await loadConfigFile(invalid(file), { registries: testRegistries(), strict });
  } catch (err) {
    assert.ok(err instanceof ConfigError, `${file}: expected ConfigError, got ${String(err)}`);
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
  assert.fail(`${file} was accepted`);
}

const cases: [file: string, path: string, message: RegExp][] = [
  ['bad-address.json', 'servers[0].listeners[1].address', /too many colons in address "127\.0\.0\.1:2045:1"/],
  ['bad-port.json', 'servers[0].listeners[1].address', /invalid port "99999"/],
  ['duplicate-listener-name.json', 'servers[0].listeners[1].name', /duplicate listener name "l0" \(first used at servers\[0\]\.listeners\[0\]\)/],
  ['duplicate-listener-address.json', 'servers[0].listeners[1].address', /address 127\.0\.0\.1:2045 is already used/],
  ['zero-servers.json', 'servers', /exactly one server is required, found none/],
  ['two-servers.json', 'servers', /exactly one server is supported, found 2/],
  ['missing-cluster-name.json', 'cluster_manager.clusters[0].name', /is required/],
  ['duplicate-cluster-name.json', 'cluster_manager.clusters[1].name', /duplicate cluster name "c0"/],
  ['bad-duration.json', 'cluster_manager.clusters[0].connect_timeout', /unknown unit "parsecs" in duration "10parsecs"/],
  ['bad-lb-weight-type.json', 'cluster_manager.clusters[0].hosts[0].weight', /expected number, received string/],
  ['tls-bad-version.json', 'servers[0].listeners[0].filter_chains[0].tls_context.min_version', /unknown TLS version "TLSv9"/],
  ['tls-verify-without-ca.json', 'servers[0].listeners[0].filter_chains[0].tls_context_set[1].ca_cert', /verify_client needs a ca_cert/],
  ['cluster-tls-bad-curve.json', 'cluster_manager.clusters[0].tls_context.ecdh_curves', /unknown curve "p999"/],
  ['cluster-manager-tls-missing.json', 'cluster_manager.clusters[0].cluster_manager_tls', /cluster_manager has no tls_context/],
  ['ip-access-fail-closed.json', 'servers[0].listeners[0].stream_filters[0].type', /IP access control \(stream filter ip_access\) is not implemented in Skiff yet; refusing to start without it \(fail closed\)/],
  ['rbac-fail-closed.json', 'servers[0].listeners[0].stream_filters[0].type', /RBAC .* \(fail closed\)/],
  ['udp-listener.json', 'servers[0].listeners[0].network', /UDP listener .* cannot be served as TCP/],
  ['bad-route-regex.json', 'servers[0].routers[0].virtual_hosts[0].routers[1].match.regex', /invalid regex "\/api\/\(v1"/],
  ['bad-redirect-code.json', 'servers[0].routers[0].virtual_hosts[0].routers[0].redirect.response_code', /must be one of 301, 302, 303, 307, 308/],
  ['duplicate-router-name.json', 'servers[0].listeners[0].filter_chains[0].filters[0].config.router_config_name', /duplicate router configuration name "r0" \(first defined at servers\[0\]\.routers\[0\]\)/],
];

for (const [file, path, message] of cases) {
  test(`rejects ${file} at ${path}`, async () => {
    const issues = await rejects(file);
    const hit = issues.find((i) => i.startsWith(`${path}: `));
    assert.ok(hit, `no issue at ${path}; got:\n${issues.join('\n')}`);
    assert.match(hit, message);
  });
}

test('many problems are reported at once', async () => {
  const issues = await rejects('many-errors.json');
  const paths = issues.map((i) => i.slice(0, i.indexOf(': ')));
  for (const p of [
    'servers[0].listeners[0].address',
    'servers[0].listeners[1].address',
    'servers[0].listeners[1].connection_idle_timeout',
    'cluster_manager.clusters[0].name',
    'cluster_manager.clusters[0].hosts[0].address',
  ]) assert.ok(paths.includes(p), `missing ${p} in:\n${issues.join('\n')}`);
  assert.ok(issues.length >= 5);
});

test('bad JSON: one-line error with file:line:col', async () => {
  await assert.rejects(loadConfigFile(invalid('bad-json.json'), { registries: testRegistries() }), (err: unknown) => {
    assert.ok(err instanceof SkiffError);
    assert.equal(err.code, 'E_CONFIG_SYNTAX');
    assert.match(err.message, /bad-json\.json:4:5: Expected ',' or ']' after array element/);
    assert.ok(!err.message.includes('\n'));
    return true;
  });
});

test('YAML syntax error names line and column', async () => {
  await assert.rejects(loadConfigFile(join(CONFIG_TEST_DIR, 'fixtures', 'bad.yaml'), { registries: testRegistries() }), (err: unknown) => {
    assert.ok(err instanceof SkiffError);
    assert.equal(err.code, 'E_CONFIG_SYNTAX');
    assert.match(err.message, /bad\.yaml:\d+:\d+: \S/);
    assert.ok(!err.message.includes('\n'));
    return true;
  });
});

test('missing file and empty file', async () => {
  await assert.rejects(loadConfigFile(invalid('does-not-exist.json'), { registries: testRegistries() }), (err: unknown) => {
    assert.ok(err instanceof SkiffError);
    assert.equal(err.code, 'E_CONFIG_FILE');
    assert.equal(err.message, `cannot read config file "${invalid('does-not-exist.json')}": no such file`);
    return true;
  });
  await assert.rejects(loadConfigFile(join(CONFIG_TEST_DIR, 'fixtures', 'empty.json'), { registries: testRegistries() }), /empty\.json: the config file is empty/);
});

test('--strict turns warnings into errors', async () => {
  const file = join(CONFIG_TEST_DIR, 'fixtures', 'mosn-config.json');
  const ok = await loadConfigFile(file, { registries: testRegistries() });
  assert.ok(ok.warnings.length > 0);
  await assert.rejects(loadConfigFile(file, { registries: testRegistries(), strict: true }), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.issues.length, ok.warnings.length);
    assert.match(err.message, /servers\[0\]\.listeners\[1\]\.stream_filters\[0\]\.type: .*healthcheck/);
    return true;
  });
});
