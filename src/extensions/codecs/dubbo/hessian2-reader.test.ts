import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { countDescriptorArgs, HESSIAN2_MAX_DEPTH, Hessian2Reader } from './hessian2-reader.js';
import { Hessian2Writer } from './hessian2-writer.js';

const require = createRequire(import.meta.url);
const hessian = require('hessian.js') as { encode(v: unknown, version: string): Buffer; decode(b: Buffer, version: string): unknown };
type Wrap = (v: unknown) => unknown;
interface JavaFn {
  (cls: string, v: unknown): unknown;
  long: Wrap; double: Wrap; Integer: Wrap; Boolean: Wrap; Short: Wrap; Byte: Wrap; Float: Wrap; Character: Wrap; String: Wrap; int: Wrap;
  array: ((cls: string, v: unknown[]) => unknown) & { int: (v: unknown[]) => unknown };
  enum(cls: string, name: string): unknown;
  Class(name: string): unknown;
  BigDecimal(v: string): unknown;
  Locale(l: string): unknown;
}
const java = require('js-to-java') as JavaFn;

const enc = (v: unknown): Buffer => hessian.encode(v, '2.0');
const reader = (b: Buffer): Hessian2Reader => new Hessian2Reader().reset(b, 0, b.length);
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function skipsExactly(b: Buffer, what: string): void {
  const r = reader(b);
  assert.equal(r.skip(), true, `${what}: ${r.error}`);
  assert.equal(r.pos, b.length, `${what}: consumed all`);
  // Hessian is prefix-free: no strict prefix of one value is a whole value.
  for (let cut = 0; cut < b.length; cut++) {
    const p = new Hessian2Reader().reset(b, 0, cut);
    assert.equal(p.skip(), false, `${what}: prefix of ${cut} bytes must fail`);
    assert.notEqual(p.error, '');
  }
}

const long = (s: string) => java.long(s);
const emojiAtChunkEdge = 'a'.repeat(0x7fff) + '😀' + 'b'.repeat(10);

/** Values hessian.js encodes in every form the reader must step over. */
function corpus(): Array<[string, unknown]> {
  const shared = { k: 'shared' };
  const classes = [];
  for (let i = 0; i < 20; i++) classes.push(java(`com.example.C${i}`, { id: i, name: `n${i}` })); // > 16 defs: 'O' int form
  return [
    ['null', null],
    ['true', true],
    ['false', false],
    ...[-16, 47, -17, 48, -2048, 2047, -2049, 2048, -262144, 262143, -262145, 262144, 2 ** 31 - 1, -(2 ** 31)].map((n): [string, unknown] => [`int ${n}`, n]),
    ...['-8', '15', '-9', '16', '-2048', '2047', '-262144', '262143', '2147483647', '-2147483648', '2147483648', '9007199254740993', '-9223372036854775808'].map(
      (s): [string, unknown] => [`long ${s}`, long(s)],
    ),
    ...[0, 1, -128, 127, -32768, 32767, 1.5, 0.001, Math.PI, 1e300, -0.25].map((d): [string, unknown] => [`double ${d}`, java.double(d)]),
    ['date minutes', new Date(Date.UTC(2020, 1, 2, 3, 4))],
    ['date ms', new Date(1_600_000_000_123)],
    ...[0, 1, 31, 32, 1023, 1024, 65535, 0x8000, 0x8001, 70_000].map((n): [string, unknown] => [`string of ${n}`, 'x'.repeat(n)]),
    ['string non-ASCII', 'héllo wörld — 中文 😀'],
    ['string with emoji at a chunk edge', emojiAtChunkEdge],
    ...[0, 15, 16, 1023, 1024, 4093, 4094, 20_000].map((n): [string, unknown] => [`binary of ${n}`, Buffer.alloc(n, 7)]),
    ['untyped list', [1, 'a', null, true]],
    ['long untyped list', Array.from({ length: 20 }, (_, i) => i)],
    ['typed int array', java.array.int([1, 2, 3])],
    ['typed long list of 10', java.array('long', Array.from({ length: 10 }, (_, i) => i))],
    ['typed string list', java.array('java.lang.String', ['a', 'b'])],
    ['map', { a: 1, b: 'two', c: [1, 2], d: { e: null } }],
    ['es6 map with non-string keys', new Map<unknown, unknown>([[1, 'one'], [true, [1]], ['k', { x: 1 }]])],
    ['object', java('com.example.User', { name: 'u', age: 3, tags: ['x'], boss: java('com.example.User', { name: 'b', age: 4, tags: [], boss: null }) })],
    ['twenty classes', classes],
    ['repeated class', [java('com.example.P', { a: 1 }), java('com.example.P', { a: 2 }), java('com.example.P', { a: 3 })]],
    ['refs', [shared, shared, [shared]]],
    ['enum', java.enum('com.example.Color', 'RED')],
    ['Class', java.Class('java.lang.String')],
    ['BigDecimal', java.BigDecimal('3.14')],
    ['Locale', java.Locale('zh_CN')],
    ['boxed', [java.Integer(5), java.Boolean(true), java.Short(3), java.Byte(1), java.Float(2.5), java.Character('c')]],
    ['nested', { l: [[[{ deep: [java('com.example.N', { v: [1, { w: 'x' }] })] }]]] }],
  ];
}

test('hessian2 reader: skips every value kind hessian.js encodes, exactly, and refuses every strict prefix', () => {
  for (const [what, v] of corpus()) {
    const b = enc(v);
    const r = reader(b);
    assert.equal(r.skip(), true, `${what}: ${r.error}`);
    assert.equal(r.pos, b.length, `${what}: consumed all`);
    if (b.length < 3000) skipsExactly(b, what);
  }
});

test('hessian2 reader: many values back to back share one class-definition table', () => {
  const parts = corpus().map(([, v]) => v);
  // One encoder writes them all, so later values reuse class definitions and type refs from earlier ones.
  const enc2 = new (require('hessian.js').EncoderV2)() as { write(v: unknown): void; get(): Buffer };
  for (const v of parts) enc2.write(v);
  const all = enc2.get();
  const r = reader(all);
  for (let i = 0; i < parts.length; i++) assert.equal(r.skip(), true, `value ${i}: ${r.error}`);
  assert.equal(r.atEnd, true);
});

test('hessian2 reader: strings read back exactly (chunks, CESU-8 surrogates, 4-byte UTF-8, lone surrogates)', () => {
  const cases = ['', 'a', 'x'.repeat(31), 'y'.repeat(32), 'z'.repeat(1024), 'é'.repeat(40_000), '中文', '😀 ok', emojiAtChunkEdge, 'lone \ud800 half', 'x'.repeat(0x8000 * 2 + 3)];
  for (const s of cases) {
    for (const b of [enc(s), new Hessian2Writer().writeString(s).toBuffer()]) {
      const r = reader(b);
      assert.equal(r.readString(), s, `string of ${s.length}`);
      assert.equal(r.atEnd, true);
    }
    assert.deepEqual(new Hessian2Writer().writeString(s).toBuffer(), enc(s), 'the writer writes what hessian.js writes');
  }
  // A 4-byte UTF-8 sequence (not CESU-8) counts as two UTF-16 units.
  const utf8 = Buffer.concat([Buffer.from([0x03]), Buffer.from('😀a', 'utf8')]);
  assert.equal(reader(utf8).readString(), '😀a');
  assert.equal(reader(hex('01 80')).readString(), undefined, 'a continuation byte cannot lead');
  assert.equal(reader(hex('01 f8 80 80 80')).readString(), undefined);
  assert.equal(reader(hex('01 f0 9f 98 80')).readString(), undefined, 'a 4-byte sequence needs two units of length');
  assert.equal(reader(hex('52 00 01 61 91')).readString(), undefined, "a non-final chunk must be followed by a string");
  assert.equal(reader(enc(5)).readString(), undefined);
  assert.equal(reader(hex('4e')).readStringOrNull(), null);
});

test('hessian2 reader: ints in every compact form', () => {
  for (const n of [0, -16, 47, -17, 48, -2048, 2047, -2049, 2048, -262144, 262143, -262145, 262144, 2 ** 31 - 1, -(2 ** 31)]) {
    assert.equal(reader(enc(n)).readInt(), n);
    assert.equal(reader(new Hessian2Writer().writeInt(n).toBuffer()).readInt(), n);
    assert.deepEqual(new Hessian2Writer().writeInt(n).toBuffer(), enc(n));
  }
  assert.equal(reader(hex('49 00 00')).readInt(), undefined, 'truncated');
  assert.equal(reader(enc('1')).readInt(), undefined, 'not an int');
});

test('hessian2 reader: hand-made forms hessian.js does not write', () => {
  const cases: Array<[string, string]> = [
    ['variable typed list', '55 04 5b696e74 91 92 5a'],
    ['variable untyped list', '57 91 01 61 5a'],
    ['fixed typed list with a type ref', '56 90 92 91 92'],
    ['compact typed list with a type ref', '72 90 91 92'],
    ['typed map with a string type', '4d 03 616263 01 61 01 62 5a'],
    ['typed map with a type ref', '4d 91 01 61 4e 5a'],
    ['chunked binary', '41 00 02 aabb 42 00 01 cc'],
    ['chunked binary, short final', '41 00 01 aa 21 bb'],
    ['double as float', '5f 3fc00000'],
    ['date in minutes', '4b 00000001'],
    ['long in 4 bytes', '59 00000001'],
    ['long in 3 bytes', '38 00 01'],
    ['object with O and an int index', '43 01 41 91 01 61 4f 90 91'],
    ['class def before a map value', '48 01 6b 43 01 41 90 60 5a'],
    ['ref', '51 90'],
  ];
  for (const [what, h] of cases) skipsExactly(hex(h), what);
});

test('hessian2 reader: malformed input fails without throwing', () => {
  const bad: Array<[string, string]> = [
    ['reserved tag 0x40', '40'],
    ['reserved tag E', '45'],
    ['a lone Z', '5a'],
    ['object of an undefined class', '60'],
    ['O with an undefined class', '4f 91'],
    ['negative list length', '58 8f'],
    ['list type that is neither a string nor an int', '55 4e 5a'],
    ['class field count larger than the body', '43 01 41 d7 ff ff'],
    ['binary chunk followed by a string', '41 00 01 aa 01 61'],
    ['ref without an int', '51 4e'],
  ];
  for (const [what, h] of bad) {
    const r = reader(hex(h));
    assert.equal(r.skip(), false, what);
    assert.notEqual(r.error, '', what);
  }
  // Deep nesting is refused at the depth limit instead of overflowing the stack.
  const bomb = Buffer.alloc(100_000, 0x57);
  const r = reader(bomb);
  assert.equal(r.skip(), false);
  assert.match(r.error, /nested/);
  const ok = Buffer.concat([Buffer.alloc(HESSIAN2_MAX_DEPTH, 0x57), Buffer.from([0x4e]), Buffer.alloc(HESSIAN2_MAX_DEPTH, 0x5a)]);
  const r2 = reader(ok);
  assert.equal(r2.skip(), true, r2.error);
  assert.equal(r2.atEnd, true);
});

test('hessian2 reader: string maps keep string→string entries and step over the rest', () => {
  const m = new Map<unknown, unknown>([
    ['Path', 'com.a.B'],
    ['timeout', 3000],
    [7, 'seven'],
    ['obj', { x: [1, 2] }],
    ['group', 'g'],
    ['empty', ''],
    ['nil', null],
  ]);
  const into = new Map<string, string>();
  const r = reader(enc(m));
  assert.equal(r.readStringMap(into, true), true, r.error);
  assert.equal(r.atEnd, true);
  assert.deepEqual([...into], [['path', 'com.a.B'], ['group', 'g'], ['empty', '']]);
  const typed = hex('4d 03 616263 01 61 01 62 5a');
  const into2 = new Map<string, string>();
  assert.equal(reader(typed).readStringMap(into2, false), true);
  assert.deepEqual([...into2], [['a', 'b']]);
  assert.equal(reader(hex('4e')).readStringMap(new Map(), true), true, 'null = no attachments');
  assert.equal(reader(hex('48 01 61')).readStringMap(new Map(), true), false, 'truncated');
  assert.equal(reader(hex('57 5a')).readStringMap(new Map(), true), false, 'a list is not a map');
});

test('hessian2 reader: random JS values encoded by hessian.js are skipped exactly (property)', () => {
  const leaf = fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
    fc.date({ noInvalidDate: true }),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((n) => java.long(n.toString())),
  );
  const { value } = fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('list'), tie('map'), tie('object')),
    list: fc.array(tie('value'), { maxLength: 6 }),
    map: fc.dictionary(fc.string({ maxLength: 6 }), tie('value'), { maxKeys: 5 }),
    object: fc
      .tuple(fc.constantFrom('com.a.A', 'com.a.B', 'com.b.C'), fc.array(tie('value'), { minLength: 1, maxLength: 3 }))
      .map(([cls, vs]) => java(cls, Object.fromEntries(vs.map((v, i) => [`f${i}`, v])))),
  }));
  fc.assert(
    fc.property(fc.array(value, { minLength: 1, maxLength: 4 }), (vs) => {
      const e = new (require('hessian.js').EncoderV2)() as { write(v: unknown): void; get(): Buffer };
      for (const v of vs) e.write(v);
      const b = e.get();
      const r = reader(b);
      for (let i = 0; i < vs.length; i++) if (!r.skip()) return false;
      return r.atEnd;
    }),
    { numRuns: 300 },
  );
});

test('hessian2 reader: random bytes never throw and never read past the end (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(20), (bytes, start) => {
      const b = Buffer.from(bytes);
      const s = Math.min(start, b.length);
      const r = new Hessian2Reader().reset(b, s, b.length);
      const ok = r.skip();
      assert.ok(r.pos <= b.length && r.pos >= s);
      if (!ok) assert.notEqual(r.error, '');
      r.reset(b, s, b.length).readStringMap(new Map(), true);
      r.reset(b, s, b.length).readString();
      r.reset(b, s, b.length).readInt();
    }),
    { numRuns: 3000 },
  );
});

test('countDescriptorArgs: one per JVM type', () => {
  assert.equal(countDescriptorArgs(''), 0);
  assert.equal(countDescriptorArgs('Ljava/lang/String;I'), 2);
  assert.equal(countDescriptorArgs('ZBCSIJFD'), 8);
  assert.equal(countDescriptorArgs('[I[[Ljava/lang/String;J'), 3);
  assert.equal(countDescriptorArgs('Ljava/lang/String'), -1);
  assert.equal(countDescriptorArgs('L;'), -1);
  assert.equal(countDescriptorArgs('['), -1);
  assert.equal(countDescriptorArgs('Q'), -1);
  assert.equal(countDescriptorArgs('V'), -1);
});
