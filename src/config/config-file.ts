/**
 * Config layer: reading a config file into a raw JSON value, with one-line errors that name the
 * file, line and column:
 *
 *   missing file  → SkiffError(E_CONFIG_FILE)   cannot read config file "x.json": no such file
 *   bad JSON      → SkiffError(E_CONFIG_SYNTAX) x.json:3:14: Expected ',' or '}' after property value
 *   bad YAML      → SkiffError(E_CONFIG_SYNTAX) x.yaml:2:1: <yaml's reason>     (.yaml / .yml, as MOSN)
 *   empty file    → SkiffError(E_CONFIG_SYNTAX) x.json: the config file is empty
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parseDocument } from 'yaml';
import { ErrorCode, SkiffError } from '../base/errors.js';

const FILE_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EISDIR: 'is a directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOTDIR: 'no such file (a parent is not a directory)',
};

/** Reads and parses `path` (JSON, or YAML by extension). */
export async function readConfigFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    throw new SkiffError(ErrorCode.ConfigFile, `cannot read config file "${path}": ${FILE_ERRORS[code] ?? (err as Error).message}`, { cause: err });
  }
  return parseConfigText(text, path);
}

/** Parses config text; `source` names it in errors (a file path; YAML when it ends in .yaml/.yml). */
export function parseConfigText(text: string, source: string): unknown {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') throw new SkiffError(ErrorCode.ConfigSyntax, `${source}: the config file is empty`);
  const ext = extname(source).toLowerCase();
  return ext === '.yaml' || ext === '.yml' ? parseYaml(text, source) : parseJson(text, source);
}

function parseYaml(text: string, source: string): unknown {
  const doc = parseDocument(text);
  const first = doc.errors[0];
  if (first) {
    const pos = first.linePos?.[0];
    const reason = first.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? 'invalid YAML';
    throw new SkiffError(ErrorCode.ConfigSyntax, pos ? `${source}:${pos.line}:${pos.col}: ${reason}` : `${source}: ${reason}`);
  }
  const value: unknown = doc.toJS({ maxAliasCount: 100 });
  if (value === null || value === undefined) throw new SkiffError(ErrorCode.ConfigSyntax, `${source}: the config file is empty`);
  return value;
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const message = (err as Error).message;
    const at = /at position (\d+)/.exec(message);
    const offset = at ? Number(at[1]) : jsonErrorOffset(text);
    const reason = message
      .replace(/ in JSON at position \d+.*$/s, '')
      .replace(/, ".*" is not valid JSON$/s, '')
      .replace(/ \(line \d+ column \d+\)$/, '')
      .replace(/\r/g, '\\r')
      .replace(/\n/g, '\\n');
    const { line, col } = lineCol(text, offset);
    throw new SkiffError(ErrorCode.ConfigSyntax, `${source}:${line}:${col}: ${reason}`, { cause: err });
  }
}

/** 1-based line and column of a character offset. */
export function lineCol(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) if (text.charCodeAt(i) === 10) { line++; start = i + 1; }
  return { line, col: end - start + 1 };
}

/**
 * Offset of the first JSON syntax error in `text` (for V8 messages that give no position). A
 * minimal recursive-descent scanner of RFC 8259; it only locates, never builds values.
 */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = () => { while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++; };
  const fail = (): never => { throw i; };
  const literal = (word: string) => {
    for (const ch of word) { if (text[i] !== ch) fail(); i++; }
  };
  const string = () => {
    i++; // opening quote
    for (;;) {
      const c = text.charCodeAt(i);
      if (Number.isNaN(c) || c < 0x20) fail();
      if (c === 0x22) { i++; return; }
      if (c === 0x5c) {
        i++;
        if (text[i] === 'u') { i++; for (let k = 0; k < 4; k++) { if (!/[0-9a-fA-F]/.test(text[i] ?? '')) fail(); i++; } continue; }
        if (!'"\\/bfnrt'.includes(text[i] ?? 'x')) fail();
      }
      i++;
    }
  };
  const number = () => {
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m) fail();
    i += (m as RegExpExecArray)[0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++; ws();
      if (text[i] === '}') { i++; return; }
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        string(); ws();
        if (text[i] !== ':') fail();
        i++; value(); ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === '}') { i++; return; }
        fail();
      }
    }
    if (c === '[') {
      i++; ws();
      if (text[i] === ']') { i++; return; }
      for (;;) {
        value(); ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === ']') { i++; return; }
        fail();
      }
    }
    if (c === '"') return string();
    if (c === 't') return literal('true');
    if (c === 'f') return literal('false');
    if (c === 'n') return literal('null');
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return number();
    fail();
  };
  try {
    value(); ws();
    return i < text.length ? i : text.length;
  } catch (at) {
    return typeof at === 'number' ? at : 0;
  }
}
