/**
 * Router layer (matchers): the one regex engine of the route table. Every route regex runs on
 * re2js, a pure-JS port of RE2: matching is linear in the input, so no pattern from a config can
 * make a request take exponential time (ADR 0006). Patterns use RE2 (Go) syntax, as MOSN's do.
 * Anchored, deterministic patterns run on V8's RegExp instead (deterministic-regex.ts): same answer,
 * still linear, ~40x cheaper.
 */
import { RE2JS } from 're2js';
import { deterministicRegExp } from './deterministic-regex.js';

export interface LinearRegex {
  readonly source: string;
  /** Unanchored search, as Go's `MatchString`. */
  test(input: string): boolean;
  /** Replaces every match, as Go's `ReplaceAllString` (`$1` and `${1}` name groups). */
  replaceAll(input: string, substitution: string): string;
}

/** `${1}` / `${name}` (Go template syntax) → `$1` / `$name` (re2js syntax). */
const goTemplate = /\$\{(\w+)\}/g;

const META = '\\.+*?()|[]{}^$';
const QUANTIFIER = '*+?{';

/**
 * The literal text every match must start the input with, for a pattern anchored by `^` and free
 * of `|` (so the anchor binds the whole pattern): `^/api/v[0-9]+` → "/api/v". A cheap
 * `startsWith` then rejects most inputs before the engine runs. '' when there is none.
 */
export function anchoredLiteralPrefix(pattern: string): string {
  if (!pattern.startsWith('^') || pattern.includes('|')) return '';
  let out = '';
  let i = 1;
  while (i < pattern.length) {
    const c = pattern[i]!;
    let literal: string | undefined;
    let width = 1;
    if (c === '\\') {
      const next = pattern[i + 1];
      // An escaped punctuation character is itself; \d, \w, \Q… are classes or syntax: stop.
      if (next !== undefined && /[!-/:-@[-`{-~]/.test(next)) { literal = next; width = 2; }
    } else if (!META.includes(c)) {
      literal = c;
    }
    if (literal === undefined) break;
    const after = pattern[i + width];
    if (after !== undefined && QUANTIFIER.includes(after)) break; // the quantifier applies to this char
    out += literal;
    i += width;
  }
  return out;
}

/** Compiles `pattern`; throws (with RE2's message) when it is not valid RE2 syntax. Control path only. */
export function compileLinearRegex(pattern: string): LinearRegex {
  const re = RE2JS.compile(pattern);
  const prefix = anchoredLiteralPrefix(pattern);
  const fast = deterministicRegExp(pattern);
  const test = fast !== undefined ? (input: string) => fast.test(input)
    : prefix === '' ? (input: string) => re.test(input)
      : (input: string) => input.startsWith(prefix) && re.test(input);
  return Object.freeze({
    source: pattern,
    test,
    replaceAll: (input: string, substitution: string) => re.matcher(input).replaceAll(substitution.replace(goTemplate, '$$$1')),
  });
}
