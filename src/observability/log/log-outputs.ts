/**
 * Observability layer: the process's log outputs, one asynchronous writer per destination
 * (`stdout`, `stderr` or a file path), shared by the process logger and every access log that
 * names the same path, so lines from both never race on two file descriptors.
 *
 * Writers are pino's SonicBoom in async mode: a log call appends to an in-memory buffer and the
 * write happens off the hot path. The buffer is bounded (`maxBufferBytes`): under a flood the
 * oldest-first order is kept and new lines are dropped (counted) instead of growing memory.
 * `reopenAll()` (SIGUSR1) reopens files so logrotate can move them; `flushSync()` runs at exit.
 */
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pino } from 'pino';
import { ErrorCode, SkiffError } from '../../base/errors.js';

/** What pino.destination returns (SonicBoom); only the members Skiff uses. */
interface LogWriter {
  write(data: string): boolean;
  flushSync(): void;
  end(): void;
  destroy(): void;
  /** -1 until the file is open (SonicBoom opens asynchronously). */
  readonly fd: number;
  on(event: string, fn: (...args: unknown[]) => void): unknown;
}

export interface LogOutput {
  /** `stdout`, `stderr`, or the resolved file path. */
  readonly path: string;
  /** Lines dropped because the buffer was full (the destination is slower than the producers). */
  readonly droppedLines: number;
  /** Last write/open error, '' if none. */
  readonly lastError: string;
  /** True once `retain()` closed it; `write` is then a no-op. */
  readonly closed: boolean;
  /** Append text (whole lines, with their newline); never throws, drops when closed or full. */
  write(line: string): void;
}

/**
 * One destination. Reopening swaps in a fresh writer and ends the old one (which flushes what it
 * still buffers to the old, possibly renamed, file), so nothing is lost and no write waits.
 */
class ActiveLogOutput implements LogOutput {
  readonly path: string;
  droppedLines = 0;
  lastError = '';
  closed = false;
  pinned = false;
  readonly #maxBufferBytes: number;
  #writer: LogWriter;

  constructor(path: string, maxBufferBytes: number) {
    this.path = path;
    this.#maxBufferBytes = maxBufferBytes;
    this.#writer = this.#open();
  }

  #open(): LogWriter {
    const path = this.path;
    const isStd = path === 'stdout' || path === 'stderr';
    // Files are opened synchronously and handed over as a descriptor, so the writer is ready at once:
    // an asynchronously opening writer that is still opening when the process exits makes pino's
    // exit hook throw ("sonic boom is not ready yet").
    let dest: number | string = path === 'stdout' ? 1 : 2;
    if (!isStd) {
      try {
        mkdirSync(dirname(path), { recursive: true });
        dest = openSync(path, 'a');
      } catch {
        dest = path; // let the writer report the error through its 'error' event
      }
    }
    const writer = pino.destination(
      typeof dest === 'number'
        ? { dest, sync: false, maxLength: this.#maxBufferBytes }
        : { dest, sync: false, mkdir: true, append: true, maxLength: this.#maxBufferBytes },
    ) as unknown as LogWriter;
    // A destination error (disk full, EPIPE on a closed stdout) must never crash the proxy.
    writer.on('error', (err: unknown) => {
      this.lastError = err instanceof Error ? err.message : String(err);
    });
    writer.on('drop', () => {
      this.droppedLines++;
    });
    return writer;
  }

  write(line: string): void {
    if (this.closed) return;
    try {
      this.#writer.write(line);
    } catch (err) {
      this.lastError = (err as Error).message;
    }
  }

  reopen(): void {
    if (this.closed || this.path === 'stdout' || this.path === 'stderr') return;
    const old = this.#writer;
    this.#writer = this.#open();
    endQuietly(old);
  }

  flushSync(): void {
    if (this.closed) return;
    try {
      this.#writer.flushSync();
    } catch {
      /* not open yet, or the destination is gone: nothing more can be done at exit */
    }
  }

  close(): void {
    this.closed = true;
    endQuietly(this.#writer);
  }
}

function endQuietly(writer: LogWriter): void {
  try {
    // A writer whose file is not open yet cannot flush: destroy it, or pino's exit hook would try
    // to flush it synchronously and throw ("sonic boom is not ready yet") as the process exits.
    if (writer.fd < 0) writer.destroy();
    else writer.end();
  } catch {
    /* already closed */
  }
}

export interface LogOutputsOptions {
  /** Directory relative file paths resolve against (the config file's directory). */
  readonly baseDir?: string;
  /** Per-destination buffer bound; default 16 MiB. */
  readonly maxBufferBytes?: number;
}

export class LogOutputs {
  readonly #outputs = new Map<string, ActiveLogOutput>();
  readonly #baseDir: string;
  readonly #maxBufferBytes: number;

  constructor(options: LogOutputsOptions = {}) {
    this.#baseDir = options.baseDir ?? process.cwd();
    this.#maxBufferBytes = options.maxBufferBytes ?? 16 * 1024 * 1024;
  }

  /** The key a path is shared under: `stdout`/`stderr` as is, files resolved to absolute paths. */
  keyOf(path: string): string {
    return path === 'stdout' || path === 'stderr' ? path : resolve(this.#baseDir, path);
  }

  /**
   * The shared output for `path`, opened on first use. Files are created (with parent directories)
   * synchronously first, so an unwritable path fails here, at config time, with a clear message.
   * `pinned` outputs (the process log) are never closed by `retain`.
   */
  open(path: string, options: { pinned?: boolean } = {}): LogOutput {
    const key = this.keyOf(path);
    const existing = this.#outputs.get(key);
    if (existing) {
      if (options.pinned) existing.pinned = true;
      return existing;
    }
    if (key !== 'stdout' && key !== 'stderr') {
      try {
        mkdirSync(dirname(key), { recursive: true });
        closeSync(openSync(key, 'a'));
      } catch (err) {
        const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
        throw new SkiffError(ErrorCode.Config, `cannot open log file "${path}": ${reason}`, { cause: err });
      }
    }
    const output = new ActiveLogOutput(key, this.#maxBufferBytes);
    output.pinned = options.pinned ?? false;
    this.#outputs.set(key, output);
    return output;
  }

  /** SIGUSR1: reopen every file output (stdout/stderr need nothing). */
  reopenAll(): void {
    for (const o of this.#outputs.values()) o.reopen();
  }

  /** Close file outputs no longer named by any config (after a live update); stdout/stderr stay. */
  retain(paths: Iterable<string>): void {
    const keep = new Set<string>();
    for (const p of paths) keep.add(this.keyOf(p));
    for (const [key, o] of this.#outputs) {
      if (keep.has(key) || o.pinned || key === 'stdout' || key === 'stderr') continue;
      this.#outputs.delete(key);
      o.close();
    }
  }

  /** Write out every buffered line now (process exit). Never throws. */
  flushSync(): void {
    for (const o of this.#outputs.values()) o.flushSync();
  }

  outputs(): Iterable<LogOutput> {
    return this.#outputs.values();
  }
}
