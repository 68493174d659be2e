/**
 * Router layer (matchers): a fast path for the commonest route regexes. re2js is linear but costs
 * ~0.7–0.9 µs per successful match; V8's own RegExp costs ~20 ns but backtracks. This file accepts
 * only patterns on which backtracking provably cannot blow up, and gives them to V8:
 *
 *   ^ atom quant? atom quant? … $?      atom = literal char | \d | \w | [ASCII class]
 *                                        quant = * | + | ?   (greedy)
 *
 * anchored (one start position), no groups or alternation, and every quantified atom is followed by
 * a mandatory atom it cannot match (checked over all ASCII and a non-ASCII sample, which stands for
 * every non-ASCII code point since classes are ASCII-only), or by the end. Then each quantifier
 * gives back at most its own run once, so the work is linear in the input. `.` and `\s` are left
 * out because JS and RE2 disagree on them; the `u` flag makes both sides work on code points.
 * Any other pattern returns undefined and stays on re2js.
 */
import { RE2JS } from 're2js';

interface Atom {
  readonly src: string;
  readonly quant: '' | '*' | '+' | '?';
  readonly re: RE2JS;
}

const SYNTAX = '^$\\.*+?()[]{}|/';
const SAMPLE: string[] = [...Array.from({ length: 128 }, (_, c) => String.fromCharCode(c)), 'é', '中', '😀'];

function parseClass(p: string, start: number): number {
  // Returns the index after the closing ']', or -1 when the class is outside the accepted subset.
  let i = start + 1;
  if (p[i] === '^') i++;
  if (p[i] === ']') return -1; // "[]…" differs between RE2 and JS
  for (; i < p.length; i++) {
    const c = p[i]!;
    if (c === ']') return i + 1;
    if (c === '[' || c.charCodeAt(0) < 0x20 || c.charCodeAt(0) > 0x7e) return -1;
    if (c === '\\') {
      const n = p[i + 1];
      if (n === undefined || !'dw-./\\]^'.includes(n)) return -1;
      i++;
    }
  }
  return -1;
}

/** A V8 RegExp equivalent to RE2 `pattern` and linear on every input, or undefined. Control path. */
export function deterministicRegExp(pattern: string): RegExp | undefined {
  if (!pattern.startsWith('^')) return undefined;
  const atoms: Atom[] = [];
  let js = '^';
  let i = 1;
  while (i < pattern.length) {
    const c = pattern[i]!;
    let src: string;
    let jsSrc: string;
    if (c === '$') {
      if (i !== pattern.length - 1) return undefined;
      js += '$';
      break;
    }
    if (c === '\\') {
      const n = pattern[i + 1];
      if (n === undefined) return undefined;
      if (n === 'd' || n === 'w') src = `\\${n}`;
      else if (/[!-/:-@[-`{-~]/.test(n)) src = `\\${n}`;
      else return undefined;
      jsSrc = n === 'd' || n === 'w' || SYNTAX.includes(n) ? src : n;
      i += 2;
    } else if (c === '[') {
      const end = parseClass(pattern, i);
      if (end < 0) return undefined;
      src = jsSrc = pattern.slice(i, end);
      i = end;
    } else if ('.()|{}*+?^'.includes(c) || c.charCodeAt(0) < 0x20 || c.charCodeAt(0) > 0x7e) {
      return undefined;
    } else {
      src = c;
      jsSrc = c === '/' ? '\\/' : c;
      i++;
    }
    let quant: Atom['quant'] = '';
    const q = pattern[i];
    if (q === '*' || q === '+' || q === '?') {
      quant = q;
      i++;
      if (pattern[i] === '?' || pattern[i] === '*' || pattern[i] === '+' || pattern[i] === '{') return undefined;
    } else if (q === '{') {
      return undefined;
    }
    atoms.push({ src, quant, re: RE2JS.compile(src) });
    js += jsSrc + quant;
  }
  for (let k = 0; k < atoms.length; k++) {
    const a = atoms[k]!;
    if (a.quant === '') continue;
    const next = atoms[k + 1];
    if (next === undefined) continue; // greedy to the end, then done (or `$`)
    if (next.quant !== '' && next.quant !== '+') return undefined;
    for (const ch of SAMPLE) if (a.re.testExact(ch) && next.re.testExact(ch)) return undefined;
  }
  try {
    return new RegExp(js, 'u');
  } catch {
    return undefined;
  }
}
