/**
 * CLI (main layer): `skiff start | validate | version | help`. Parses arguments, loads the config
 * with the built-in registries, and either reports on it (validate) or starts the server and hands
 * the process to the signal handlers (start). Every failure is one line on stderr,
 * `skiff: <reason>`, and exit code 1.
 */
import { dirname, resolve } from 'node:path';
import { nativeFd, nativeFdError } from './base/native-fd.js';
import { ConfigError, formatIssue, SkiffError, type ConfigIssue } from './base/errors.js';
import { loadConfigFile, type LoadResult } from './config/index.js';
import { createBuiltinRegistries, installSignalHandlers, Server, skiffVersion } from './server/index.js';
import { startSuccessor } from './server/upgrade/successor.js';
import { Controller, runWorker, WORKER_COMMAND, workerCount } from './server/workers/index.js';

const HELP = `skiff — a network proxy that loads MOSN v2 configs

Usage:
  skiff start -c FILE [--strict]      start serving FILE (JSON, or YAML by .yaml/.yml)
  skiff validate -c FILE [--strict]   check FILE: print warnings and errors, exit 0 if valid, 1 if not
  skiff version                       print the version
  skiff help | --help | -h            this help

Options:
  -c, --config FILE   config file (default: $MOSN_CONFIG)
  --strict            treat config warnings (unknown keys, ignored features) as errors
  --takeover          take over the Skiff in uds_dir even if it serves another config file
  --workers N         worker processes (a number or "auto" = one per core); overrides
                      servers[0].processor (default 1 = one process, no controller)

Workers (N > 1): one controller process binds the listeners, serves the admin API (stats summed
over workers, GET /api/v1/workers) and replaces a worker that dies; N workers serve the traffic.
Limits (max_connections, circuit breakers, pools) apply per worker.

Signals (start): SIGTERM graceful stop (drains up to graceful_timeout), SIGINT/SIGQUIT fast stop,
SIGUSR1 reopen log files, SIGHUP hot upgrade (a new Skiff with the same command line takes over
the listening sockets and the connections, then this one exits 0). With workers the controller
takes the signals and passes them on.

Hot upgrade: a Skiff started with the config file of a running one (its reconfig socket in
uds_dir) takes over from it; --takeover takes over the one in uds_dir whatever its config file.

Examples:
  skiff validate -c configs/default.json --strict
  skiff start -c configs/default.json
  MOSN_CONFIG=mosn.json skiff start
  curl http://127.0.0.1:34901/api/v1/states          # admin API of the default config
  curl -X POST -H 'Content-Type: application/json' --data @new.json http://127.0.0.1:34901/api/v1/config
`;

interface Args {
  command: string;
  config: string | undefined;
  strict: boolean;
  help: boolean;
  /** `--takeover`: replace the Skiff in uds_dir even if it serves another config file. */
  takeover: boolean;
  /** `--workers N`: overrides servers[0].processor. */
  workers: number | 'auto' | undefined;
}

class UsageError extends Error {}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { command: '', config: undefined, strict: false, help: false, workers: undefined, takeover: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '-h' || a === '--help') args.help = true;
    else if (a === '--strict') args.strict = true;
    else if (a === '--takeover') args.takeover = true;
    else if (a === '-v' || a === '--version') args.command ||= 'version';
    else if (a === '-c' || a === '--config') {
      const v = argv[++i];
      if (v === undefined || v === '') throw new UsageError(`${a} needs a file name`);
      args.config = v;
    } else if (a.startsWith('--config=')) args.config = a.slice('--config='.length);
    else if (a === '--workers' || a.startsWith('--workers=')) {
      const v = a === '--workers' ? argv[++i] : a.slice('--workers='.length);
      args.workers = parseWorkers(v);
    }
    else if (a.startsWith('-')) throw new UsageError(`unknown option "${a}" (see skiff --help)`);
    else if (args.command === '') args.command = a;
    else throw new UsageError(`unexpected argument "${a}" (see skiff --help)`);
  }
  return args;
}

function parseWorkers(v: string | undefined): number | 'auto' {
  if (v === undefined || v === '') throw new UsageError('--workers needs a number (or "auto")');
  if (v.trim().toLowerCase() === 'auto') return 'auto';
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--workers must be a whole number ≥ 1 or "auto", got "${v}"`);
  return n;
}

const fail = (message: string): number => {
  process.stderr.write(`skiff: ${message}\n`);
  return 1;
};

/** One line per config issue, each `skiff: path: message`; other errors as one line. */
function reportError(err: unknown): number {
  if (err instanceof ConfigError) {
    for (const issue of err.issues) process.stderr.write(`skiff: ${formatIssue(issue)}\n`);
    return 1;
  }
  if (err instanceof Error) return fail((err.message.split('\n')[0] ?? '').trim() || err.name);
  return fail(String(err));
}

function configPath(args: Args): string {
  const path = args.config ?? process.env['MOSN_CONFIG'];
  if (path === undefined || path === '') throw new UsageError('no config file: use -c FILE (or set MOSN_CONFIG)');
  return path;
}

async function validate(args: Args): Promise<number> {
  const path = configPath(args);
  const print = (kind: string, issues: readonly ConfigIssue[]): void => {
    for (const i of issues) process.stdout.write(`${kind}: ${formatIssue(i)}\n`);
  };
  let result: LoadResult;
  try {
    result = await loadConfigFile(path, { registries: createBuiltinRegistries(), strict: args.strict });
  } catch (err) {
    if (err instanceof ConfigError) print('error', err.issues);
    else if (err instanceof SkiffError && err.code === 'E_CONFIG_FILE') return fail(err.message);
    else process.stdout.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.stdout.write('config is invalid\n');
    return 1;
  }
  print('warning', result.warnings);
  print('note', result.notes);
  process.stdout.write('config is valid\n');
  return 0;
}

async function start(args: Args): Promise<number | undefined> {
  const path = configPath(args);
  const registries = createBuiltinRegistries();
  const load = await loadConfigFile(path, { registries, strict: args.strict });
  let workers = workerCount(load.config.server.processor, args.workers);
  const noAddon = workers > 1 && nativeFd === undefined;
  if (noAddon) workers = 1;
  if (workers > 1 && nativeFd !== undefined) {
    const controller = await Controller.start(load, { registries, baseDir: dirname(resolve(path)), strict: args.strict, configPath: path, workers, native: nativeFd, upgrade: { force: args.takeover } });
    void controller.listenForUpgrades(() => {
      void controller.stopNow().finally(() => { controller.flushLogs(); process.exit(0); });
    });
    if (!load.config.disableUpgrade) controller.hotUpgrade = () => startSuccessor(controller.logger, () => controller.upgradeBlocker());
    installSignalHandlers(controller.signalTarget(), { logger: controller.logger });
    controller.gracefulStopRequest = () => { process.emit('SIGTERM' as never); };
    return undefined;
  }
  const server = await Server.start(load, { registries, baseDir: dirname(resolve(path)), strict: args.strict, configPath: path, upgrade: { force: args.takeover } });
  if (noAddon) server.logger.warn({ error: nativeFdError }, 'worker processes need the native addon (npm install builds it); serving with one process');
  // Hot upgrade: a new Skiff (SIGHUP's successor, or one started beside this one) takes over; then exit 0.
  void server.listenForUpgrades(() => {
    void server.stopNow().finally(() => { server.flushLogs(); process.exit(0); });
  });
  if (!load.config.disableUpgrade) server.hotUpgrade = () => startSuccessor(server.logger, () => server.upgradeBlocker());
  installSignalHandlers(server, { logger: server.logger });
  // The admin graceful-stop endpoint takes the same path as SIGTERM (drain, watchdog, exit 0).
  server.gracefulStopRequest = () => { process.emit('SIGTERM' as never); };
  return undefined; // keep running: the signal handlers end the process
}

export async function main(argv: readonly string[]): Promise<number | undefined> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (err) {
    return reportError(err);
  }
  if (args.help || args.command === 'help' || args.command === '') {
    process.stdout.write(HELP);
    return args.command === '' && !args.help ? 1 : 0;
  }
  try {
    switch (args.command) {
      case 'version':
        process.stdout.write(`skiff ${skiffVersion()} (node ${process.version})\n`);
        return 0;
      case 'validate':
        return await validate(args);
      case 'start':
        return await start(args);
      case WORKER_COMMAND:
        return await runWorker();
      default:
        return fail(`unknown command "${args.command}" (see skiff --help)`);
    }
  } catch (err) {
    return reportError(err);
  }
}

const code = await main(process.argv.slice(2));
if (code !== undefined) {
  process.exitCode = code;
  // Let stdout/stderr drain, but never linger on a handle a failed start left behind.
  setTimeout(() => process.exit(code), 500).unref();
}
