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
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { SkiffProcess, httpRequest, tempDir, writeJson } from '../fakes/skiff-process.js';
import { UpgradeLedger } from '../fakes/upgrade-ledger.js';
import { alive, assertCleanLedger, assertMigrated, backendPairForFile, findLog, killPid, progress, requestTotal, sleep, spawnedPid, upgradeDoc, upgradeLines, upgradeStatus, within, workers } from '../fakes/upgrade-helpers.js';

const LOAD_MS = 1100; // ≥ 1 s of load before the upgrade and after the old controller exited

const backends = backendPairForFile();

// ------------------------------------------------------------------------------------------ helpers

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

// ------------------------------------------------------------------------------ the upgrade run

interface Run {
  readonly from: number;
  readonly to: number;
  readonly trigger: 'sighup' | 'container';
  readonly clients: number; // per kind
}

async function upgradeWithWorkers(t: TestContext, run: Run): Promise<void> {
  const { dir, cleanup } = tempDir();
  const path = writeJson(dir, 'skiff.json', upgradeDoc(backends.A, { processor: run.from }));
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
    const oldRows = await workers(adminPort);
    assert.equal(oldRows.length, run.from, JSON.stringify(oldRows));
    for (const r of oldRows) leftovers.add(r.pid);
    await ledger.start();
    await sleep(LOAD_MS);
    await progress(ledger, 5 * run.clients, old);
    const totalBefore = await requestTotal(adminPort);
    assert.ok(totalBefore > 0, 'the old generation counted requests');

    writeJson(dir, 'skiff.json', upgradeDoc(backends.B, { processor: run.to })); // the SAME path now routes to B (and may change processor)
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
    const newRows = await workers(adminPort);
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
