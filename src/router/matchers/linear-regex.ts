/**
 * Router layer (matchers): the one regex engine of the route table. Every route regex runs on
 * re2js, a pure-JS port of RE2: matching is linear in the input, so no pattern from a config can
 * make a request take exponential time (ADR 0006). Patterns use RE2 (Go) syntax, as MOSN's do.
 */
import { RE2JS } from 're2js';

export interface LinearRegex {
  readonly source: string;
  /** Unanchored search, as Go's `MatchString`. */
  test(input: string): boolean;
  /** Replaces every match, as Go's `ReplaceAllString` (`$1` and `${1}` name groups). */
  replaceAll(input: string, substitution: string): string;
}

/** `${1}` / `${name}` (Go template syntax) → `$1` / `$name` (re2js syntax). */
const goTemplate = /\$\{(\w+)\}/g;

/** Compiles `pattern`; throws (with RE2's message) when it is not valid RE2 syntax. Control path only. */
export function compileLinearRegex(pattern: string): LinearRegex {
  const re = RE2JS.compile(pattern);
  return Object.freeze({
    source: pattern,
    test: (input: string) => re.test(input),
    replaceAll: (input: string, substitution: string) => re.matcher(input).replaceAll(substitution.replace(goTemplate, '$$$1')),
  });
}
