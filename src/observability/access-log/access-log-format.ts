/**
 * Observability layer: MOSN's access-log format (`%start_time% %bytes_sent% …`), compiled once at
 * config time into a function, so a log line costs one getter call per variable and one string
 * concatenation per part: no parsing or lookups by position at log time.
 *
 *   "%a% - %b%\n"  ──compile──▶  literals ["", " - ", "\n"]   names ["a", "b"]
 *                                line = lit[0] + get(a) + lit[1] + get(b) + lit[2]
 *
 * A variable the getter does not know (or that is empty) prints `-`, as MOSN prints a placeholder.
 * A `%` that does not open a well-formed `%name%` is kept as literal text.
 */
import type { VariableGetter } from '../../api/observability.js';

export type AccessLogFormatter = (vars: VariableGetter) => string;

/** MOSN's default format (pkg/types/accesslog.go), used when a listener gives none. */
export const DEFAULT_ACCESS_LOG_FORMAT =
  '%start_time% %trace_id%  %connection_id% %upstream_connection_id% %request_received_duration% %response_received_duration% %bytes_sent% %bytes_received% %protocol% %response_code% %duration% %response_flag% %response_code% %upstream_local_address% %downstream_local_address% %downstream_remote_address% %upstream_host%';

const NAME = /^[A-Za-z0-9_\-.:]+$/;

/** Splits a format into literal text and variable names; `literals.length === names.length + 1`. */
export function parseAccessLogFormat(format: string): { literals: string[]; names: string[] } {
  const literals: string[] = [];
  const names: string[] = [];
  let text = '';
  let i = 0;
  while (i < format.length) {
    const open = format.indexOf('%', i);
    if (open < 0) {
      text += format.slice(i);
      break;
    }
    const close = format.indexOf('%', open + 1);
    const name = close < 0 ? '' : format.slice(open + 1, close);
    if (close < 0 || !NAME.test(name)) {
      // Not a variable: keep the `%` and continue after it.
      text += format.slice(i, open + 1);
      i = open + 1;
      continue;
    }
    text += format.slice(i, open);
    literals.push(text);
    names.push(name);
    text = '';
    i = close + 1;
  }
  literals.push(text);
  return { literals, names };
}

export function compileAccessLogFormat(format: string): AccessLogFormatter {
  const { literals, names } = parseAccessLogFormat(format);
  const n = names.length;
  const head = literals[0] ?? '';
  return (vars) => {
    let line = head;
    for (let k = 0; k < n; k++) {
      const v = vars(names[k] as string);
      line += v === undefined || v === '' ? '-' : v;
      line += literals[k + 1] as string;
    }
    return line;
  };
}
