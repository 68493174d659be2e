/**
 * Server layer: process signals and last-resort error handlers, MOSN's semantics:
 *
 *   SIGTERM          graceful stop: stop accepting, drain up to graceful_timeout, exit 0
 *   SIGINT, SIGQUIT  fast stop: close everything, exit 0 (well under 1 s)
 *   SIGUSR1          reopen log files and access logs (having a listener also keeps Node from
 *                    opening its inspector on SIGUSR1, so no debugger port ever opens)
 *   SIGHUP           hot upgrade: start a new Skiff with the same command line, which takes over
 *                    (`hotUpgrade`); without it (disable_upgrade, embedded) logged and ignored —
 *                    it never kills Skiff
 *   uncaughtException / unhandledRejection: logged at error, the process keeps serving (the data
 *                    plane must not throw; this is the last net, not a mechanism)
 */
import type { Logger } from '../api/observability.js';

export interface SignalTarget {
  stopGracefully(): Promise<void>;
  stopNow(): Promise<void>;
  reopenLogs(): void;
  /** Synchronously write out buffered log lines (called right before exit). */
  flushLogs(): void;
  /** Graceful drain limit, for the watchdog that guarantees exit. */
  readonly gracefulTimeoutMs: number;
  /** SIGHUP: start the successor process (hot upgrade). */
  readonly hotUpgrade?: (() => void) | undefined;
}

export interface SignalOptions {
  readonly logger: Logger;
  /** Ends the process; default process.exit. */
  readonly exit?: (code: number) => void;
}

/** Installs the handlers; returns a function that removes them (tests, embedding). */
export function installSignalHandlers(target: SignalTarget, options: SignalOptions): () => void {
  const { logger } = options;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let stopping: 'graceful' | 'fast' | undefined;

  const finish = (code: number): void => {
    try {
      target.flushLogs();
    } catch {
      // stderr gone (EPIPE): exiting matters more than the last lines
    }
    exit(code);
  };

  const fast = (signal: string): void => {
    if (stopping === 'fast') return;
    stopping = 'fast';
    logger.info({ signal }, 'fast stop');
    // Whatever happens, be gone quickly: a fast stop is a promise to the operator.
    setTimeout(() => finish(0), 700).unref();
    target.stopNow().then(
      () => finish(0),
      (err: unknown) => {
        logger.error({ err }, 'fast stop failed');
        finish(0);
      },
    );
  };

  const onTerm = (): void => {
    if (stopping) return;
    stopping = 'graceful';
    logger.info({ gracefulTimeoutMs: target.gracefulTimeoutMs }, 'SIGTERM: graceful stop');
    // Watchdog: drain force-closes at the timeout; this covers anything that still hangs.
    setTimeout(() => finish(0), target.gracefulTimeoutMs + 3000).unref();
    target.stopGracefully().then(
      () => finish(0),
      (err: unknown) => {
        logger.error({ err }, 'graceful stop failed');
        finish(0);
      },
    );
  };
  const onInt = (): void => fast('SIGINT');
  const onQuit = (): void => fast('SIGQUIT');
  const onUsr1 = (): void => {
    target.reopenLogs();
    logger.info('SIGUSR1: log files reopened');
  };
  const onHup = (): void => {
    if (stopping) { logger.warn('SIGHUP while stopping: ignored'); return; }
    if (target.hotUpgrade === undefined) { logger.warn('hot upgrade is off (disable_upgrade); SIGHUP ignored'); return; }
    logger.info('SIGHUP: hot upgrade');
    target.hotUpgrade();
  };
  const onUncaught = (err: unknown): void => {
    logger.error({ err }, 'uncaught exception (kept serving)');
  };
  const onUnhandled = (reason: unknown): void => {
    logger.error({ err: reason }, 'unhandled promise rejection (kept serving)');
  };

  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  process.on('SIGQUIT', onQuit);
  process.on('SIGUSR1', onUsr1);
  process.on('SIGHUP', onHup);
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUnhandled);
  return () => {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    process.off('SIGQUIT', onQuit);
    process.off('SIGUSR1', onUsr1);
    process.off('SIGHUP', onHup);
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUnhandled);
  };
}
