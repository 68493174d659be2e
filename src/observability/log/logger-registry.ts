/**
 * Observability layer: the named loggers the admin API can inspect and re-level
 * (`/api/v1/get_loglevel`, `/api/v1/update_loglevel`). As in MOSN, a logger is named by its output
 * path (`stderr`, `/var/log/skiff/skiff.log`), and levels are shown with MOSN's upper-case names.
 */
import type { LogLevel } from '../../api/config.js';
import { mosnLevelName } from './levels.js';

/** Something whose level can be read and changed at runtime (a ProcessLogger tree). */
export interface LevelControl {
  readonly level: LogLevel;
  setLevel(level: LogLevel): void;
}

export class LoggerRegistry {
  readonly #loggers = new Map<string, LevelControl>();
  #defaultName = '';

  /** The first logger registered is the default (used when an update names no `log_path`). */
  register(name: string, control: LevelControl): void {
    this.#loggers.set(name, control);
    if (this.#defaultName === '') this.#defaultName = name;
  }

  unregister(name: string): void {
    this.#loggers.delete(name);
    if (this.#defaultName === name) this.#defaultName = this.#loggers.keys().next().value ?? '';
  }

  get defaultName(): string {
    return this.#defaultName;
  }

  /** `{ "<name>": "<LEVEL>" }`, MOSN's get_loglevel body. */
  levels(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, c] of this.#loggers) out[name] = mosnLevelName(c.level);
    return out;
  }

  /** False when no logger has that name. `name` '' = the default logger. */
  setLevel(name: string, level: LogLevel): boolean {
    const c = this.#loggers.get(name === '' ? this.#defaultName : name);
    if (!c) return false;
    c.setLevel(level);
    return true;
  }

  names(): string[] {
    return [...this.#loggers.keys()];
  }
}
