// Hot upgrade with worker processes (issue 7 points 1 + 3) over real sockets and real `skiff start`
// processes. The ledger of test/fakes/upgrade-ledger.ts (long-lived HTTP/1 keep-alive and Bolt
// clients, every request a unique id) runs before, through and after each upgrade. As in
// hot-upgrade.test.ts the SAME config file is rewritten right before the upgrade to route to backends
// "B" instead of "A", so an answer names the generation that served it.
//
//   1. processor 2 → processor 2, SIGHUP to the controller, 200 clients
//   2. processor 1 → processor 2 and processor 2 → processor 1, side by side (a second `skiff start`), 50 + 50 clients
//   3. stats continue: every upgrade above also checks that the new controller's summed downstream
//      request_total is ≥ the old one's just before the upgrade, and ≥ every request the ledger sent
//
// After each upgrade: 0 failed, 0 resets, every id answered exactly once, every client on its original
// socket and port and last answered by B; the old controller exits 0 and every pid of the old
// `/api/v1/workers` is gone; the new `/api/v1/workers` lists the configured number of live workers;
// `/api/v1/upgrade` is complete with connectionsMigrated ≥ the Bolt clients alone.
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { SkiffProcess, httpRequest, tempDir, writeJson, type LogLine } from '../fakes/skiff-process.js';
import { UpgradeLedger, startBackends, type Backends, type LedgerReport } from '../fakes/upgrade-ledger.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const LOAD_MS = 1100; // ≥ 1 s of load before the upgrade and after the old controller exited

/** `p`, or undefined after `ms` (the timer is cleared either way: a pending one keeps the file's process alive). */
async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<undefined>((r) => (timer = setTimeout(r, ms, undefined)))]);
  } finally {
    clearTimeout(timer);
  }
}

let A: Backends;
let B: Backends;
before(async () => {
  A = await startBackends('A', 1000);
  B = await startBackends('B', 1000);
});
after(async () => {
  await A.close();
  await B.close();
});

// ------------------------------------------------------------------------------------------ helpers

function proxyListener(name: string, protocol: string, router: string): Record<string, unknown> {
  return {
    name,
    address: '127.0.0.1:0',
    bind_port: true,
    filter_chains: [{ filters: [{ type: 'proxy', config: { downstream_protocol: protocol, router_config_name: router } }] }],
  };
}

/** HTTP listener "http" → cluster web, Bolt listener "bolt" → cluster rpc, on `to`'s backends; `processor` workers; admin on port 0. */
function workersUpgradeDoc(to: Backends, processor: number): Record<string, unknown> {
  return {
    servers: [{
      default_log_path: 'stderr',
      default_log_level: 'INFO',
      graceful_timeout: '10s',
      processor,
      routers: [
        { router_config_name: 'web', virtual_hosts: [{ name: 'all', domains: ['*'], routers: [{ match: { prefix: '/' }, route: { cluster_name: 'web', upstream_protocol: 'Http1' } }] }] },
        { router_config_name: 'rpc', virtual_hosts: [{ name: 'rpc', domains: ['*'], routers: [{ match: { headers: [{ name: 'service', value: 'svc' }] }, route: { cluster_name: 'rpc' } }] }] },
      ],
      listeners: [proxyListener('http', 'Http1', 'web'), proxyListener('bolt', 'bolt', 'rpc')],
    }],
    cluster_manager: {
      clusters: [
        { name: 'web', type: 'SIMPLE', lb_type: 'LB_ROUNDROBIN', connect_timeout: '2s', hosts: [{ address: `127.0.0.1:${to.http.port}` }] },
        { name: 'rpc', type: 'SIMPLE', lb_type: 'LB_ROUNDROBIN', connect_timeout: '2s', hosts: [{ address: `127.0.0.1:${to.bolt.port}` }] },
      ],
    },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } },
  };
}

const upgradeLines = (p: SkiffProcess): string => p.logs.filter((l) => String(l.msg).startsWith('hot upgrade')).map((l) => JSON.stringify(l)).join('\n');
const findLog = (p: SkiffProcess, msg: string, pid?: number): LogLine | undefined => p.logs.find((l) => l.msg === msg && (pid === undefined || l['pid'] === pid));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function killPid(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

/** Starts `skiff start -c path`; with workers, waits for the controller's own "skiff is running" (after every worker is ready). */
async function startSkiff(path: string, processor: number): Promise<SkiffProcess> {
  const p = await SkiffProcess.start(path);
  if (processor > 1) {
    await p.waitFor(() => p.logs.some((l) => l.msg === 'skiff is running' && l['role'] === 'controller'), 15_000, 'the controller to be running')
      .catch(async (err: unknown) => {
        await p.stop();
        throw err;
      });
  }
  return p;
}

/** The pid of the process an old Skiff spawned on SIGHUP (its `hot upgrade: new process started` line). */
async function spawnedPid(old: SkiffProcess): Promise<number> {
  await old.waitFor(() => findLog(old, 'hot upgrade: new process started') !== undefined, 10_000, '"hot upgrade: new process started"');
  const pid = Number(findLog(old, 'hot upgrade: new process started')!['newPid']);
  assert.ok(Number.isInteger(pid) && pid > 0 && pid !== old.child.pid, `the new pid in ${JSON.stringify(findLog(old, 'hot upgrade: new process started'))}`);
  return pid;
}

interface WorkerRow {
  index: number;
  pid: number;
  state: string;
  restarts: number;
}

async function workerRows(adminPort: number): Promise<WorkerRow[]> {
  const r = await httpRequest(adminPort, 'GET', '/api/v1/workers');
  assert.equal(r.status, 200, `GET /api/v1/workers: ${r.status} ${r.body}`);
  return r.json<WorkerRow[]>();
}

/** Sum of `request_total` over every downstream scope of `/api/v1/stats` (the controller sums its workers). */
async function requestTotal(adminPort: number): Promise<number> {
  const r = await httpRequest(adminPort, 'GET', '/api/v1/stats?key=downstream');
  assert.equal(r.status, 200, r.body);
  const doc = r.json<Record<string, Record<string, Record<string, string>>>>();
  let n = 0;
  for (const scope of Object.values(doc['downstream'] ?? {})) n += Number(scope['request_total'] ?? 0);
  return n;
}

interface UpgradeStatus {
  state: string;
  listenersInherited: number;
  connectionsMigrated: number;
  connectionsDrained: number;
  connectionsClosed: number;
  ms: number;
}

async function upgradeStatus(adminPort: number): Promise<UpgradeStatus> {
  const r = await httpRequest(adminPort, 'GET', '/api/v1/upgrade');
  assert.equal(r.status, 200, `GET /api/v1/upgrade: ${r.status} ${r.body}`);
  return r.json<UpgradeStatus>();
}

function assertCleanLedger(report: LedgerReport, what: string): void {
  const summary = `${what}: sent ${report.sent}, answered ${report.answered} (${JSON.stringify(report.byKind)})\n${report.problems.join('\n')}`;
  assert.equal(report.failed, 0, `failed requests — ${summary}`);
  assert.equal(report.events.length, 0, `resets/closes seen by clients — ${summary}`);
  assert.equal(report.unanswered, 0, `unanswered ids — ${summary}`);
  assert.equal(report.duplicates, 0, `ids answered twice — ${summary}`);
  assert.equal(report.wrong, 0, `answers carrying another id — ${summary}`);
  assert.equal(report.answered, report.sent, summary);
}

/** Every long-lived client kept its socket and port and was last answered by `name`. */
function assertMigrated(ledger: UpgradeLedger, name: string): void {
  const notMigrated: string[] = [];
  for (const c of ledger.clients) {
    if (c.socket.destroyed || c.socket.localPort !== c.localPortAtConnect) notMigrated.push(`${c.kind}#${c.index}: socket destroyed=${c.socket.destroyed} port ${c.localPortAtConnect} → ${c.socket.localPort}`);
    else if (c.lastServedBy !== name) notMigrated.push(`${c.kind}#${c.index}: last answer from "${c.lastServedBy}" (${c.answered} answers)`);
  }
  assert.equal(notMigrated.length, 0, `clients not served by ${name} over their original connection (${notMigrated.length}/${ledger.clients.length}):\n${notMigrated.slice(0, 15).join('\n')}`);
}

/** Waits until the ledger made `n` more answers (the load is moving through whoever serves now). */
async function progress(ledger: UpgradeLedger, n: number, log: SkiffProcess, ms = 8000): Promise<void> {
  const target = ledger.answered + n;
  const until = Date.now() + ms;
  while (ledger.answered < target) {
    if (Date.now() > until) assert.fail(`load stalled: ${ledger.answered}/${target} answers; ledger: ${ledger.report().problems.slice(0, 10).join('\n')}\nupgrade log:\n${upgradeLines(log)}\nstderr tail: ${log.stderr.slice(-1500)}`);
    await sleep(20);
  }
}

// ------------------------------------------------------------------------------ the upgrade run

interface Run {
  readonly from: number;
  readonly to: number;
  readonly trigger: 'sighup' | 'container';
  readonly clients: number; // per kind
}

async function upgradeWithWorkers(t: TestContext, run: Run): Promise<void> {
  const { dir, cleanup } = tempDir();
  const path = writeJson(dir, 'skiff.json', workersUpgradeDoc(A, run.from));
  const old = await startSkiff(path, run.from);
  let successor: SkiffProcess | undefined;
  let newPid: number | undefined;
  const leftovers = new Set<number>();
  const httpPort = await old.waitForListener('http');
  const ledger = new UpgradeLedger({
    httpPort,
    boltPort: await old.waitForListener('bolt'),
    httpClients: run.clients,
    boltClients: run.clients,
    freshEveryMs: 25,
  });
  const adminPort = old.adminPort;
  try {
    const oldRows = await workerRows(adminPort);
    assert.equal(oldRows.length, run.from, JSON.stringify(oldRows));
    for (const r of oldRows) leftovers.add(r.pid);
    await ledger.start();
    await sleep(LOAD_MS);
    await progress(ledger, 5 * run.clients, old);
    const totalBefore = await requestTotal(adminPort);
    assert.ok(totalBefore > 0, 'the old generation counted requests');

    writeJson(dir, 'skiff.json', workersUpgradeDoc(B, run.to)); // the SAME path now routes to B (and may change processor)
    const t0 = Date.now();
    if (run.trigger === 'sighup') {
      old.signal('SIGHUP');
      newPid = await spawnedPid(old);
    } else {
      successor = await SkiffProcess.start(path);
      newPid = successor.child.pid;
    }
    leftovers.add(newPid!);
    const exit = await within(old.exited, 25_000);
    const upgradeMs = Date.now() - t0;
    assert.ok(exit !== undefined, `the old controller did not exit within 25 s; upgrade log:\n${upgradeLines(old)}`);
    assert.deepEqual(exit, { code: 0, signal: null }, `old exit; upgrade log:\n${upgradeLines(old)}\nstderr tail: ${old.stderr.slice(-1500)}`);
    assert.ok(alive(newPid!), 'the new process runs');
    // Every process of the old generation is gone (workers exit with, or right after, their controller).
    const oldPids = oldRows.map((r) => r.pid);
    await old.waitFor(() => oldPids.every((p) => !alive(p)), 5000, `old pids ${oldPids.join(',')} gone`).catch(() => undefined);
    assert.deepEqual(oldPids.filter(alive), [], `old generation pids still alive (of ${oldPids.join(',')})`);

    await sleep(LOAD_MS); // ≥ 1 s of load served by the new generation alone
    await progress(ledger, 5 * run.clients, successor ?? old);
    await ledger.stop();
    const report = ledger.report();
    const logs = successor ?? old;
    t.diagnostic(`${run.from} → ${run.to} (${run.trigger}): sent ${report.sent} ${JSON.stringify(report.byKind)}; old exited ${upgradeMs} ms after the trigger`);
    assertCleanLedger(report, `${run.from} → ${run.to} ${run.trigger} upgrade`);
    assertMigrated(ledger, 'B');

    // Same ports, the new generation (B) for new connections too.
    assert.equal((await httpRequest(httpPort, 'GET', '/id/fresh')).body, 'B:fresh');

    // The new admin (on the inherited port): its workers, the upgrade, the counters.
    const newRows = await workerRows(adminPort);
    for (const r of newRows) leftovers.add(r.pid);
    assert.equal(newRows.length, run.to, JSON.stringify(newRows));
    assert.deepEqual(newRows.map((r) => r.state), Array.from({ length: run.to }, () => 'running'), JSON.stringify(newRows));
    for (const r of newRows) {
      assert.ok(alive(r.pid), `new worker ${r.index} (pid ${r.pid}) alive`);
      assert.ok(!oldPids.includes(r.pid), `new worker ${r.index} is not an old pid`);
    }
    if (run.to > 1) assert.ok(!newRows.some((r) => r.pid === newPid), 'the new controller is not one of its workers');
    else assert.equal(newRows[0]!.pid, newPid, 'a single-process Skiff lists itself');

    const status = await upgradeStatus(adminPort);
    assert.equal(status.state, 'complete', JSON.stringify(status));
    assert.ok(status.connectionsMigrated >= run.clients, `connectionsMigrated ${status.connectionsMigrated} (≥ ${run.clients} Bolt connections alone): ${JSON.stringify(status)}`);
    assert.ok(status.listenersInherited >= 2, JSON.stringify(status));
    const done = findLog(old, 'hot upgrade: done', old.child.pid);
    assert.ok(done !== undefined && Number(done['migrated']) >= run.clients, `old "hot upgrade: done": ${JSON.stringify(done)}\n${upgradeLines(old)}`);

    // 3. Stats continue: the new generation's sum starts from the old one's.
    const totalAfter = await requestTotal(adminPort);
    assert.ok(totalAfter >= totalBefore, `request_total ${totalAfter} after the upgrade < ${totalBefore} just before it`);
    assert.ok(totalAfter >= report.sent, `request_total ${totalAfter} < ${report.sent} requests the ledger sent (before ${totalBefore})`);
  } finally {
    ledger.close();
    await old.stop();
    if (successor !== undefined) await successor.stop();
    for (const p of leftovers) killPid(p);
    cleanup();
  }
}

// ----------------------------------------------------------------------------------------- tests

test('1. processor 2 → processor 2 by SIGHUP to the controller under 200 clients: 0 failed, 0 resets, every id once, same sockets answered by B, old generation gone, 2 new workers, stats continue', async (t) => {
  await upgradeWithWorkers(t, { from: 2, to: 2, trigger: 'sighup', clients: 100 });
});

test('2a. processor 1 → processor 2 side by side (a second `skiff start`, the config now says processor 2): same guarantees, stats continue', async (t) => {
  await upgradeWithWorkers(t, { from: 1, to: 2, trigger: 'container', clients: 50 });
});

test('2b. processor 2 → processor 1 side by side: same guarantees, stats continue', async (t) => {
  await upgradeWithWorkers(t, { from: 2, to: 1, trigger: 'container', clients: 50 });
});
