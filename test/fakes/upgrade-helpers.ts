/**
 * Test fake: the helpers the hot-upgrade and worker-process integration tests share (one home, so a
 * change to the upgrade config, the admin API or a log message is made once). Config documents for
 * the upgrade runs (HTTP "http" → cluster web, Bolt "bolt" → cluster rpc, admin on port 0), process
 * checks by pid, admin API readers (`/api/v1/stats`, `/api/v1/upgrade`, `/api/v1/workers`), log
 * finders over a SkiffProcess's JSON lines, and the ledger assertions of test/fakes/upgrade-ledger.ts.
 */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { httpRequest, type LogLine, type SkiffProcess } from './skiff-process.js';
import { startBackends, type Backends, type LedgerReport, type UpgradeLedger } from './upgrade-ledger.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `p`, or undefined after `ms` (the timer is cleared either way: a pending one keeps the file's process alive). */
export async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<undefined>((r) => (timer = setTimeout(r, ms, undefined)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** The backend pairs "A" (old config) and "B" (new config) an upgrade test file routes to. */
export interface BackendPair {
  readonly A: Backends;
  readonly B: Backends;
}

/**
 * Backends "A" and "B" for the calling test file: started in its `before` hook, closed in its `after`
 * hook (read the fields inside tests only). `slowMsA`/`slowMsB`: how late each answers `/slow/…`.
 */
export function backendPairForFile(slowMsA = 1000, slowMsB = 1000): BackendPair {
  const pair: { A?: Backends; B?: Backends } = {};
  before(async () => {
    pair.A = await startBackends('A', slowMsA);
    pair.B = await startBackends('B', slowMsB);
  });
  after(async () => {
    await pair.A?.close();
    await pair.B?.close();
  });
  return {
    get A(): Backends {
      assert.ok(pair.A !== undefined, 'backend A is read before the file\'s before() hook ran');
      return pair.A;
    },
    get B(): Backends {
      assert.ok(pair.B !== undefined, 'backend B is read before the file\'s before() hook ran');
      return pair.B;
    },
  };
}

// ------------------------------------------------------------------------------- config documents

/** A `proxy` listener for `protocol` routed by `router`; `chain` adds fields to its one filter chain (e.g. tls_context). */
export function proxyListener(name: string, protocol: string, router: string, address = '127.0.0.1:0', chain: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    address,
    bind_port: true,
    filter_chains: [{ ...chain, filters: [{ type: 'proxy', config: { downstream_protocol: protocol, router_config_name: router } }] }],
  };
}

export interface UpgradeDocOptions {
  /** `processor` (worker processes); left out of the document when undefined. */
  readonly processor?: number;
  /** Listeners after "http" and "bolt". */
  readonly extraListeners?: readonly Record<string, unknown>[];
  /** Default '10s'. */
  readonly gracefulTimeout?: string;
}

/** HTTP listener "http" → cluster web, Bolt listener "bolt" → cluster rpc, both on `to`'s backends; admin on port 0. */
export function upgradeDoc(to: Backends, options: UpgradeDocOptions = {}): Record<string, unknown> {
  return {
    servers: [{
      default_log_path: 'stderr',
      default_log_level: 'INFO',
      graceful_timeout: options.gracefulTimeout ?? '10s',
      ...(options.processor === undefined ? {} : { processor: options.processor }),
      routers: [
        { router_config_name: 'web', virtual_hosts: [{ name: 'all', domains: ['*'], routers: [{ match: { prefix: '/' }, route: { cluster_name: 'web', upstream_protocol: 'Http1' } }] }] },
        { router_config_name: 'rpc', virtual_hosts: [{ name: 'rpc', domains: ['*'], routers: [{ match: { headers: [{ name: 'service', value: 'svc' }] }, route: { cluster_name: 'rpc' } }] }] },
      ],
      listeners: [proxyListener('http', 'Http1', 'web'), proxyListener('bolt', 'bolt', 'rpc'), ...(options.extraListeners ?? [])],
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

// ---------------------------------------------------------------------------------- processes

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function killPid(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

/**
 * The pid of the `nth` process an old Skiff spawned on SIGHUP (its `hot upgrade: new process started`
 * line). `fromPid`: only lines logged by that pid (a later generation logging on `old`'s pipe).
 */
export async function spawnedPid(old: SkiffProcess, nth = 1, fromPid?: number): Promise<number> {
  const self = fromPid ?? old.child.pid;
  const started = (): LogLine[] => old.logs.filter((l) => l.msg === 'hot upgrade: new process started' && (fromPid === undefined || l['pid'] === fromPid));
  await old.waitFor(() => started().length >= nth, 10_000, `"hot upgrade: new process started" #${nth}`);
  // The contract names the field `pid`; the logger also stamps its own `pid`, so take whichever
  // candidate is not the old process's.
  const line = started()[nth - 1]!;
  const pid = ['pid', 'newPid', 'childPid', 'child'].map((k) => Number(line[k])).find((v) => Number.isInteger(v) && v > 0 && v !== self) ?? NaN;
  assert.ok(Number.isInteger(pid) && pid > 0 && pid !== self, `the new pid in ${JSON.stringify(line)}`);
  return pid;
}

/** The pids of the workers a controller forked (its `worker forked` lines). */
export function workerPidsFromLogs(p: SkiffProcess): number[] {
  return p.logs.filter((l) => l.msg === 'worker forked').map((l) => Number(l['workerPid']));
}

// ---------------------------------------------------------------------------------- admin API

/** GET `path` on the admin port; asserts 200 and parses the body. */
export async function adminJson<T>(adminPort: number, path: string): Promise<T> {
  const r = await httpRequest(adminPort, 'GET', path);
  assert.equal(r.status, 200, `GET ${path}: ${r.status} ${r.body}`);
  return r.json<T>();
}

/** Sum of `request_total` over every downstream scope of `/api/v1/stats` (a controller sums its workers). */
export async function requestTotal(adminPort: number): Promise<number> {
  const doc = await adminJson<Record<string, Record<string, Record<string, string>>>>(adminPort, '/api/v1/stats?key=downstream');
  let n = 0;
  for (const scope of Object.values(doc['downstream'] ?? {})) n += Number(scope['request_total'] ?? 0);
  return n;
}

export interface UpgradeStatus {
  state: string;
  from: unknown;
  listenersInherited: number;
  connectionsMigrated: number;
  connectionsDrained: number;
  connectionsClosed: number;
  ms: number;
}

export function upgradeStatus(adminPort: number): Promise<UpgradeStatus> {
  return adminJson<UpgradeStatus>(adminPort, '/api/v1/upgrade');
}

export interface WorkerRow {
  index: number;
  pid: number;
  state: string;
  restarts: number;
}

/** `/api/v1/workers` of a process, or of an admin port (after an upgrade, the port outlives the process). */
export function workers(target: SkiffProcess | number): Promise<WorkerRow[]> {
  return adminJson<WorkerRow[]>(typeof target === 'number' ? target : target.adminPort, '/api/v1/workers');
}

// ----------------------------------------------------------------------------------------- logs

/** Lines of `p`'s pipe, only those logged by `pid` when given. */
export const logsOf = (p: SkiffProcess, pid?: number): LogLine[] => (pid === undefined ? p.logs : p.logs.filter((l) => l['pid'] === pid));
export const hasLog = (p: SkiffProcess, msg: string, pid?: number): boolean => logsOf(p, pid).some((l) => l.msg === msg);
export const findLog = (p: SkiffProcess, msg: string, pid?: number): LogLine | undefined => logsOf(p, pid).find((l) => l.msg === msg);
/** Every `hot upgrade…` line of the given pipes, one JSON per line (for failure messages). */
export const upgradeLines = (...ps: SkiffProcess[]): string => ps.flatMap((p) => p.logs).filter((l) => String(l.msg).startsWith('hot upgrade')).map((l) => JSON.stringify(l)).join('\n');

// ------------------------------------------------------------------------------------- ledger

export function assertCleanLedger(report: LedgerReport, what: string): void {
  const summary = `${what}: sent ${report.sent}, answered ${report.answered} (${JSON.stringify(report.byKind)})\n${report.problems.join('\n')}`;
  assert.equal(report.failed, 0, `failed requests — ${summary}`);
  assert.equal(report.events.length, 0, `resets/closes seen by clients — ${summary}`);
  assert.equal(report.unanswered, 0, `unanswered ids — ${summary}`);
  assert.equal(report.duplicates, 0, `ids answered twice — ${summary}`);
  assert.equal(report.wrong, 0, `answers carrying another id — ${summary}`);
  assert.equal(report.answered, report.sent, summary);
}

/** Every long-lived client kept its socket and port and was last answered by `name`. */
export function assertMigrated(ledger: UpgradeLedger, name: string): void {
  const notMigrated: string[] = [];
  for (const c of ledger.clients) {
    if (c.socket.destroyed || c.socket.localPort !== c.localPortAtConnect) notMigrated.push(`${c.kind}#${c.index}: socket destroyed=${c.socket.destroyed} port ${c.localPortAtConnect} → ${c.socket.localPort}`);
    else if (c.lastServedBy !== name) notMigrated.push(`${c.kind}#${c.index}: last answer from "${c.lastServedBy}" (${c.answered} answers)`);
  }
  const boltClients = ledger.clients.filter((c) => c.kind === 'bolt').length;
  const bolt = notMigrated.filter((x) => x.startsWith('bolt')).length;
  const httpN = notMigrated.length - bolt;
  assert.equal(bolt, 0, `Bolt clients not served by ${name} over their original connection (${bolt}/${boltClients}):\n${notMigrated.slice(0, 15).join('\n')}`);
  assert.equal(httpN, 0, `HTTP/1 keep-alive clients not served by ${name} over their original connection (${httpN}/${ledger.clients.length - boltClients}):\n${notMigrated.slice(0, 15).join('\n')}`);
}

/** Waits until the ledger made `n` more answers (the load is moving through whoever serves now). */
export async function progress(ledger: UpgradeLedger, n: number, log?: SkiffProcess, ms = 15_000): Promise<void> {
  const target = ledger.answered + n;
  const until = Date.now() + ms;
  while (ledger.answered < target) {
    if (Date.now() > until) assert.fail(`load stalled: ${ledger.answered}/${target} answers; ledger: ${ledger.report().problems.slice(0, 10).join('\n')}\nupgrade log:\n${log === undefined ? '' : upgradeLines(log)}\nstderr tail: ${log?.stderr.slice(-1500) ?? ''}`);
    await sleep(20);
  }
}
