/**
 * Observability layer: log level names. Skiff's levels are pino's (`trace`…`fatal`); MOSN's admin
 * API and config speak upper-case names (`DEBUG`, `WARN`, also `WARNING`/`CRITICAL` from its CLI).
 * This file maps between them and gives each level the numeric value the level gate compares.
 */
import type { LogLevel } from '../../api/config.js';

/** pino's numeric values: a line is written when its value >= the logger's threshold. */
export const LEVEL_VALUES: Readonly<Record<LogLevel, number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
};

const MOSN_ALIASES: Readonly<Record<string, LogLevel>> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  critical: 'fatal',
  fatal: 'fatal',
};

/** `DEBUG`, `debug`, `Warning` → a Skiff level; undefined for anything else. */
export function parseLogLevel(text: string): LogLevel | undefined {
  return MOSN_ALIASES[text.trim().toLowerCase()];
}

/** Skiff level → MOSN's upper-case name (`warn` → `WARN`). */
export function mosnLevelName(level: LogLevel): string {
  return level.toUpperCase();
}
