/** Test fake: a Logger that records every line, so tests can assert what was logged. */
import type { Logger } from '../../src/api/observability.js';

export interface LogLine {
  level: string;
  msg: string;
  obj: Record<string, unknown>;
}

export class RecordingLogger implements Logger {
  readonly lines: LogLine[];
  readonly #bindings: Record<string, unknown>;
  constructor(lines: LogLine[] = [], bindings: Record<string, unknown> = {}) {
    this.lines = lines;
    this.#bindings = bindings;
  }
  #push(level: string, obj: object | string, msg?: string): void {
    if (typeof obj === 'string') this.lines.push({ level, msg: obj, obj: { ...this.#bindings } });
    else this.lines.push({ level, msg: msg ?? '', obj: { ...this.#bindings, ...(obj as Record<string, unknown>) } });
  }
  error(obj: object | string, msg?: string): void { this.#push('error', obj, msg); }
  warn(obj: object | string, msg?: string): void { this.#push('warn', obj, msg); }
  info(obj: object | string, msg?: string): void { this.#push('info', obj, msg); }
  debug(obj: object | string, msg?: string): void { this.#push('debug', obj, msg); }
  isLevelEnabled(): boolean { return true; }
  child(bindings: Record<string, unknown>): Logger { return new RecordingLogger(this.lines, { ...this.#bindings, ...bindings }); }
  has(level: string, pattern: RegExp): boolean {
    return this.lines.some((l) => l.level === level && pattern.test(`${l.msg} ${JSON.stringify(l.obj)}`));
  }
}
