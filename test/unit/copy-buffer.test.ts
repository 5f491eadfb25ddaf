/**
 * The bytes half of the fast path's COPY text (copy-buffer.ts) against copy-text.ts: the `_kafka_*` columns
 * of any message meta, fields of any text, and the ranges written per attempt.
 */
import test from 'ava';
import { PoisonMessageError } from '../../src/errors.ts';
import { binaryFieldEncoder } from '../../src/sink/copy-binary.ts';
import {
  appendCopyLine,
  appendTextLine,
  CopyBuffer,
  CopyBufferPool,
  type CopySlice,
} from '../../src/sink/copy-buffer.ts';
import { copyTextLine, parseCopyTextLine } from '../../src/sink/copy-text.ts';
import { createRowMapper, type MessageMeta, type SqlText } from '../../src/sink/row-mapper.ts';
import { copyRanges } from '../../src/sink/table-writer.ts';
import { allTypesEntry } from '../support/all-types.ts';
import { seeded } from '../support/seeded-random.ts';

const bytesOf = (slice: CopySlice) => Buffer.from(slice.buffer.subarray(slice.start, slice.end));

const TIMESTAMPS = [
  '1767225600000',
  '0',
  '-1',
  '',
  '1e3',
  '1.5',
  'abc',
  '-62135596800000',
  '-62135596800001',
  '253402300799999',
  '253402300800000',
  '8640000000000000',
  '9224318016000000',
  String(Number.MAX_SAFE_INTEGER + 2),
];

test('the _kafka_* columns as bytes are withMeta + copyTextLine for any meta, and refuse the same timestamps', (t) => {
  const entry = allTypesEntry();
  const mapper = createRowMapper(entry);
  const fieldCount = mapper.columns.length - 3;
  const r = seeded(3);
  const out = new CopyBuffer(1024);
  let accepted = 0;
  let refused = 0;
  for (let i = 0; i < 3000; i++) {
    // Fields that every line shares, with escapes and NULLs, as transcodeCopy writes them.
    const fields: SqlText[] = Array.from({ length: fieldCount }, (_, k) =>
      k % 5 === 0 ? null : r.pick(['', 'x', 'a\tb\\c\nd\re', 'é😀', '\\N']),
    );
    const fieldBytes = new CopyBuffer(64);
    fieldBytes.begin();
    for (const f of fields) {
      fieldBytes.text(f);
      fieldBytes.tab();
    }
    const meta: MessageMeta = {
      partition: r.pick([0, 1, 41, 2 ** 31 - 1]),
      offset: r.pick(['0', '41', '9223372036854775807']),
      timestamp: r.next() < 0.5 ? String(r.int(2 ** 44) - 2 ** 43) : r.pick(TIMESTAMPS),
    };
    let expected: Buffer | PoisonMessageError;
    try {
      expected = Buffer.from(copyTextLine(mapper.withMeta([...fields, null, null, null], meta)));
    } catch (error) {
      if (!(error instanceof PoisonMessageError)) throw error;
      expected = error;
    }
    let actual: Buffer | PoisonMessageError;
    try {
      actual = bytesOf(appendCopyLine(out, fieldBytes.end(), meta, mapper.kafkaTimestampText));
    } catch (error) {
      if (!(error instanceof PoisonMessageError)) throw error;
      actual = error;
    }
    if (expected instanceof PoisonMessageError) {
      refused++;
      t.true(actual instanceof PoisonMessageError, JSON.stringify(meta));
      if (actual instanceof PoisonMessageError) t.is(actual.message, expected.message);
    } else {
      accepted++;
      t.deepEqual(actual, expected, JSON.stringify(meta));
    }
  }
  t.true(accepted > 1000 && refused > 50, `${accepted} accepted, ${refused} refused`);
});

test('a refused meta leaves nothing behind: the next line follows the last good one', (t) => {
  const mapper = createRowMapper(allTypesEntry());
  const out = new CopyBuffer(1024);
  const fields = { buffer: Buffer.from('a\t'), start: 0, end: 2 };
  const first = appendCopyLine(
    out,
    fields,
    { partition: 0, offset: '1', timestamp: '0' },
    mapper.kafkaTimestampText,
  );
  t.throws(() =>
    appendCopyLine(out, fields, { partition: 0, offset: '2', timestamp: 'x' }, mapper.kafkaTimestampText),
  );
  const third = appendCopyLine(
    out,
    fields,
    { partition: 0, offset: '3', timestamp: '0' },
    mapper.kafkaTimestampText,
  );
  t.is(third.start, first.end);
  t.is(bytesOf(third).toString(), 'a\t0\t3\t1970-01-01T00:00:00.000Z\n');
});

test('any row survives copyTextLine → bytes → parseCopyTextLine unchanged; appendTextLine is copyTextLine as UTF-8', (t) => {
  const r = seeded(11);
  const pieces = ['', 'a', '\\', '\\N', '\t', '\n', '\r', '\\t', 'é', '😀', '\u2028', '\u0001', '"', 'N'];
  const out = new CopyBuffer(1024);
  for (let i = 0; i < 2000; i++) {
    const row: SqlText[] = Array.from({ length: 1 + r.int(6) }, () =>
      r.next() < 0.15 ? null : Array.from({ length: r.int(5) }, () => r.pick(pieces)).join(''),
    );
    const line = appendTextLine(out, row);
    t.deepEqual(bytesOf(line), Buffer.from(copyTextLine(row)));
    t.deepEqual(parseCopyTextLine(line.buffer, line.start, line.end), row);
  }
});

test('lines written one after the other go in one write; a slab change or a gap (a line left out) starts another', (t) => {
  const out = new CopyBuffer(1024);
  const lines: CopySlice[] = [];
  // Long enough lines that the buffer moves to new slabs on the way.
  for (let i = 0; i < 40; i++) lines.push(appendTextLine(out, [String(i), 'x'.repeat(100)]));
  const all = Buffer.concat(lines.map(bytesOf));
  const ranges = [...copyRanges(lines)];
  t.deepEqual(Buffer.concat(ranges), all);
  const slabs = new Set(lines.map((l) => l.buffer)).size;
  t.true(slabs > 1);
  t.is(ranges.length, slabs);
  const withGap = lines.filter((_, i) => i !== 3);
  t.deepEqual(Buffer.concat([...copyRanges(withGap)]), Buffer.concat(withGap.map(bytesOf)));
  t.is([...copyRanges(withGap)].length, slabs + 1);
  t.deepEqual([...copyRanges([])], []);
});

test('a pool hands a buffer to one taker at a time and reuses it once given back, emptied', (t) => {
  const pool = new CopyBufferPool(1);
  const a = pool.take();
  const b = pool.take();
  t.not(a, b, 'two batches in flight never share a buffer');
  a.reset(10);
  const first = appendTextLine(a, ['x']);
  pool.give(a);
  pool.give(b); // beyond the pool's size: dropped
  const c = pool.take();
  t.is(c, a);
  c.reset(4096);
  t.is(c.pos, 0);
  t.true(c.buf.length >= 4096);
  const again = appendTextLine(c, ['y']);
  t.is(again.start, 0);
  t.not(pool.take(), b);
  t.is(bytesOf(first).length, 2);
  // A large batch's buffer is not kept for the life of the process.
  c.reset(16 * 1024 * 1024);
  pool.give(c);
  t.not(pool.take(), c);
});

test('numericField and binaryText write the bytes of copy-binary.ts encoders (random decimals, zeros, signs, long digits; any text)', (t) => {
  const r = seeded(42);
  const numeric = binaryFieldEncoder('numeric(40,12)');
  const jsonb = binaryFieldEncoder('jsonb');
  const text = binaryFieldEncoder('text');
  const digits = (n: number) => Array.from({ length: n }, () => String(r.int(10))).join('');
  const decimals = ['0', '-0', '0.00', '-0.00', '1', '-1', '0.0001', '10000', '9999.9999', '00012.3400'];
  for (let i = 0; i < 3000; i++) {
    const whole = digits(r.int(20));
    const fraction = digits(r.int(14));
    const sign = r.next() < 0.4 ? '-' : '';
    decimals.push(`${sign}${whole || '0'}${fraction ? `.${fraction}` : ''}`);
  }
  const bytes = (write: (out: CopyBuffer) => void) => {
    const out = new CopyBuffer(16);
    out.begin();
    write(out);
    const slice = out.end();
    return Buffer.from(slice.buffer.subarray(slice.start, slice.end)).toString('hex');
  };
  for (const decimal of decimals) {
    t.is(
      bytes((out) => t.true(out.numericField(decimal), decimal)),
      bytes((out) => numeric(out, decimal)),
      decimal,
    );
  }
  for (const odd of ['NaN', 'Infinity', '1e5', '', '1.2.3', '+1', 'x'.repeat(500)])
    t.false(new CopyBuffer(16).numericField(odd), odd);
  for (const value of ['', '{"a":[1,"ü🎉"]}', 'tab\there \\ \u0000', '\uD800 lone', 'x'.repeat(70_000)]) {
    t.is(
      bytes((out) => out.binaryText(value, 1)),
      bytes((out) => jsonb(out, value)),
    );
    t.is(
      bytes((out) => out.binaryText(value)),
      bytes((out) => text(out, value)),
    );
  }
});
