/**
 * Server layer (workers): the worker process (`main.js __worker`, forked by the controller). It
 * waits for `start`, validates the document it was given with the same registries as the
 * controller, starts a Server on the inherited listening fds with no admin API, and answers the
 * controller's requests one at a time, in order (an `apply` sent while it is still starting waits
 * for the start).
 *
 * Stopping: `stop {graceful}` from the controller, SIGTERM, SIGINT/SIGQUIT (a terminal's Ctrl-C
 * reaches the whole process group) run the same paths as a single Skiff (signals.ts). If the IPC
 * channel closes (the controller died), the worker drains gracefully and exits.
 */
import { formatIssue, ConfigError } from '../../base/errors.js';
import { loadConfigDocument } from '../../config/index.js';
import { parseLogLevel } from '../../observability/index.js';
import { createBuiltinRegistries } from '../../registry/registries.js';
import { Server, type ServerOptions } from '../server.js';
import { installSignalHandlers } from '../signals.js';
import { isMessage, type ControllerMessage, type StartMessage } from './messages.js';
import { registerUpgradeHandlers } from './worker-upgrade.js';

type Incoming = { readonly type: string; readonly id?: unknown; readonly [key: string]: unknown };
/** An extra request handler: its return value (if any) is sent back with the request's `id`. */
export type ControllerMessageHandler = (message: Incoming, server: Server) => unknown;

const extraHandlers = new Map<string, ControllerMessageHandler>();

/**
 * Registers a handler for a controller message type this file does not know (hot upgrade adds
 * its own). When the message has an `id`, the handler's (awaited) result object is the reply, with
 * that `id` added; a handler that throws answers `{type: '<type>-failed', id, error}`.
 */
export function onControllerMessage(type: string, handler: ControllerMessageHandler): void {
  extraHandlers.set(type, handler);
}

const send = (message: Record<string, unknown>): Promise<void> =>
  new Promise((resolve) => {
    if (!process.connected || process.send === undefined) {
      resolve();
      return;
    }
    process.send(message, undefined, {}, () => resolve());
  });

const oneLine = (err: unknown): string => {
  if (err instanceof ConfigError) return err.issues.map(formatIssue).join('; ');
  if (err instanceof Error) return (err.message.split('\n')[0] ?? '').trim() || err.name;
  return String(err);
};

/** Makes this process a worker: resolves at once (undefined = keep running); the IPC channel keeps it alive. */
export function runWorker(): Promise<number | undefined> {
  registerUpgradeHandlers();
  if (process.send === undefined) {
    process.stderr.write('skiff: __worker is started by the controller (skiff start with processor > 1), not by hand\n');
    return Promise.resolve(1);
  }
  let server: Server | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  let started = false;

  const handle = async (m: Incoming): Promise<void> => {
    const message = m as ControllerMessage;
    switch (message.type) {
      case 'start': {
        if (started) return;
        started = true;
        try {
          server = await startServer(message);
        } catch (err) {
          await send({ type: 'failed', error: oneLine(err) });
          process.exit(1);
        }
        await send({ type: 'ready', pid: process.pid });
        return;
      }
      case 'apply': {
        if (!server) return;
        try {
          const summary = await server.applyDocument(message.document);
          await send({ type: 'applied', id: message.id, summary });
        } catch (err) {
          await send({ type: 'apply-failed', id: message.id, error: oneLine(err) });
        }
        return;
      }
      case 'stats':
        if (server) await send({ type: 'stats-reply', id: message.id, snapshot: server.stats.snapshot(message.statType) });
        return;
      case 'log-level': {
        const level = parseLogLevel(message.level);
        const ok = server !== undefined && level !== undefined && server.loggers.setLevel(message.path, level);
        await send({ type: 'log-level-set', id: message.id, ok });
        return;
      }
      case 'reopen-logs':
        server?.reopenLogs();
        return;
      case 'stop':
        // The same paths as the signals (drain + watchdog + exit 0, or close now).
        process.emit((message.graceful ? 'SIGTERM' : 'SIGINT') as never);
        return;
      default: {
        const handler = extraHandlers.get(m.type);
        const id = typeof m.id === 'number' ? m.id : undefined;
        if (!handler || !server) {
          if (id !== undefined) await send({ type: 'unknown-request', id, request: m.type });
          return;
        }
        try {
          const reply = await handler(m, server);
          if (id !== undefined) await send({ type: `${m.type}-reply`, ...(typeof reply === 'object' && reply !== null ? reply : { value: reply }), id });
        } catch (err) {
          if (id !== undefined) await send({ type: `${m.type}-failed`, id, error: oneLine(err) });
        }
      }
    }
  };

  process.on('message', (m: unknown) => {
    if (!isMessage(m)) return;
    // A stop must not wait behind a slow apply; everything else runs in arrival order.
    if (m.type === 'stop') {
      void handle(m);
      return;
    }
    queue = queue.then(() => handle(m)).catch(() => undefined);
  });
  process.on('disconnect', () => {
    // The controller is gone: nobody will replace or stop us. Drain what we serve, then exit.
    if (server) process.emit('SIGTERM' as never);
    else process.exit(1);
  });
  return Promise.resolve(undefined);
}

async function startServer(message: StartMessage): Promise<Server> {
  const registries = createBuiltinRegistries();
  const load = await loadConfigDocument(message.document, {
    registries,
    strict: message.strict,
    baseDir: message.baseDir,
    source: message.configPath ?? 'the controller',
  });
  const options: ServerOptions = {
    registries,
    baseDir: message.baseDir,
    strict: message.strict,
    ...(message.configPath === undefined ? {} : { configPath: message.configPath }),
    listenerFds: new Map(Object.entries(message.listenerFds)),
    admin: false,
    logBindings: { worker: message.worker },
  };
  const server = await Server.start(load, options);
  installSignalHandlers(server, { logger: server.logger });
  server.logger.info({ listeners: Object.keys(message.listenerFds) }, 'worker serving');
  return server;
}
