/**
 * Base layer: Go duration semantics for MOSN configs. `api.DurationConfig` fields are strings parsed
 * by Go's `time.ParseDuration` ("300ms", "1.5s", "1m30s", "-2h"); `*time.Duration` fields are JSON
 * integers of nanoseconds. Skiff stores every duration as milliseconds (a float for sub-ms values).
 */

const UNIT_NS: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3, // U+00B5 micro sign
  'μs': 1e3, // U+03BC Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/**
 * Parses a Go duration string into milliseconds, or returns an error message. Accepts exactly what
 * Go accepts: an optional sign, then one or more `<decimal><unit>` parts; "0" alone is allowed.
 */
export function parseGoDuration(text: string): number | string {
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return `invalid duration "${text}"`;
  let totalNs = 0;
  const part = /^(\d*)(?:\.(\d*))?([a-zµμ]+)/;
  while (s !== '') {
    const m = part.exec(s);
    if (!m || (m[1] === '' && (m[2] === undefined || m[2] === ''))) return `invalid duration "${text}"`;
    const unit = UNIT_NS[m[3] ?? ''];
    if (unit === undefined) return `unknown unit "${m[3]}" in duration "${text}" (use ns, us, ms, s, m or h)`;
    const value = Number(`${m[1] || '0'}.${m[2] ?? '0'}`);
    totalNs += value * unit;
    s = s.slice(m[0].length);
  }
  if (totalNs > 9223372036854775807) return `duration "${text}" overflows`;
  return (sign * totalNs) / 1e6;
}

/** Formats milliseconds the way Go prints durations (for config dumps): 1500 → "1.5s", 0 → "0s". */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return '0s';
  const sign = ms < 0 ? '-' : '';
  let rest = Math.abs(ms);
  if (rest < 1) return `${sign}${+(rest * 1000).toFixed(3)}µs`;
  if (rest < 1000) return `${sign}${+rest.toFixed(6)}ms`;
  let out = '';
  const h = Math.floor(rest / 3600000);
  if (h) { out += `${h}h`; rest -= h * 3600000; }
  const m = Math.floor(rest / 60000);
  if (m || h) { out += `${m}m`; rest -= m * 60000; }
  out += `${+(rest / 1000).toFixed(9)}s`;
  return sign + out;
}

/** MOSN's access-log time layout: `2006/01/02 15:04:05.000` (local time). */
export function formatMosnTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}
