/**
 * Observability layer: the process logger, pino behind Skiff's `Logger` contract (src/api).
 *
 * pino children copy their parent's level when created and never follow later changes, yet
 * components keep the child they were given at config time. So every logger of one tree shares one
 * `LevelGate` and checks it before calling pino (which itself runs at `trace`): changing the level
 * through the admin API reaches every child at once, and a disabled call costs one comparison and
 * formats nothing. Lines go to a shared asynchronous `LogOutput` (never a synchronous write on the
 * data path).
 */
import { pino, type Logger as PinoLogger } from 'pino';
import type { LogLevel } from '../../api/config.js';
import type { Logger } from '../../api/observability.js';
import { LEVEL_VALUES } from './levels.js';
import type { LogOutput } from './log-outputs.js';

/** The level shared by a logger and all its children. */
class LevelGate {
  level: LogLevel;
  value: number;
  constructor(level: LogLevel) {
    this.level = level;
    this.value = LEVEL_VALUES[level];
  }
  set(level: LogLevel): void {
    this.level = level;
    this.value = LEVEL_VALUES[level];
  }
}

export interface ProcessLoggerOptions {
  readonly output: LogOutput;
  readonly level: LogLevel;
  /** Fields on every line (pid is always added). */
  readonly bindings?: Readonly<Record<string, unknown>>;
}

export class ProcessLogger implements Logger {
  readonly #pino: PinoLogger;
  readonly #gate: LevelGate;

  private constructor(p: PinoLogger, gate: LevelGate) {
    this.#pino = p;
    this.#gate = gate;
  }

  static create(options: ProcessLoggerOptions): ProcessLogger {
    const p = pino(
      {
        level: 'trace',
        base: { pid: process.pid, ...options.bindings },
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
      },
      { write: (line: string) => options.output.write(line) },
    );
    return new ProcessLogger(p, new LevelGate(options.level));
  }

  /** The current level of this logger tree. */
  get level(): LogLevel {
    return this.#gate.level;
  }

  /** Changes the level of this logger and every child, at once. */
  setLevel(level: LogLevel): void {
    this.#gate.set(level);
  }

  isLevelEnabled(level: string): boolean {
    const v = LEVEL_VALUES[level as LogLevel];
    return v !== undefined && v >= this.#gate.value;
  }

  fatal(obj: object | string, msg?: string): void {
    if (this.#gate.value > 60) return;
    if (typeof obj === 'string') this.#pino.fatal(obj);
    else this.#pino.fatal(obj, msg);
  }
  error(obj: object | string, msg?: string): void {
    if (this.#gate.value > 50) return;
    if (typeof obj === 'string') this.#pino.error(obj);
    else this.#pino.error(obj, msg);
  }
  warn(obj: object | string, msg?: string): void {
    if (this.#gate.value > 40) return;
    if (typeof obj === 'string') this.#pino.warn(obj);
    else this.#pino.warn(obj, msg);
  }
  info(obj: object | string, msg?: string): void {
    if (this.#gate.value > 30) return;
    if (typeof obj === 'string') this.#pino.info(obj);
    else this.#pino.info(obj, msg);
  }
  debug(obj: object | string, msg?: string): void {
    if (this.#gate.value > 20) return;
    if (typeof obj === 'string') this.#pino.debug(obj);
    else this.#pino.debug(obj, msg);
  }
  trace(obj: object | string, msg?: string): void {
    if (this.#gate.value > 10) return;
    if (typeof obj === 'string') this.#pino.trace(obj);
    else this.#pino.trace(obj, msg);
  }

  child(bindings: Record<string, unknown>): ProcessLogger {
    return new ProcessLogger(this.#pino.child(bindings), this.#gate);
  }
}
