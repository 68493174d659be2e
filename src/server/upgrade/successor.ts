/**
 * Server layer, hot upgrade by signal: SIGHUP starts a new Skiff with this process's exact command
 * line (MOSN's fork+exec). The new process finds this one through the reconfig socket and takes over
 * as in the container case; if it fails to start, this one never stopped serving.
 */
import { spawn } from 'node:child_process';
import type { Logger } from '../../api/observability.js';

export function startSuccessor(logger: Logger, canUpgrade: () => string | undefined): void {
  const why = canUpgrade();
  if (why !== undefined) {
    logger.warn({ reason: why }, 'SIGHUP: hot upgrade not started');
    return;
  }
  const argv = [...process.execArgv, ...process.argv.slice(1)];
  let child;
  try {
    child = spawn(process.execPath, argv, { stdio: ['ignore', 'inherit', 'inherit'], env: process.env });
  } catch (err) {
    logger.error({ err }, 'hot upgrade: cannot start the new process; serving on');
    return;
  }
  child.on('error', (err) => logger.error({ err }, 'hot upgrade: the new process failed to start; serving on'));
  child.on('exit', (code, signal) => {
    if (code !== 0) logger.warn({ newPid: child.pid, code, signal }, 'hot upgrade: the new process exited');
  });
  // The new process outlives this one.
  child.unref();
  logger.info({ newPid: child.pid }, 'hot upgrade: new process started');
}
