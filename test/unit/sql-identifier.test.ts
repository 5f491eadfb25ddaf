import test from 'ava';
import { PipelineError } from '../../src/errors.ts';
import { qualified, quoteIdentifier } from '../../src/sink/sql-identifier.ts';

test('plain names are double-quoted', (t) => {
  t.is(quoteIdentifier('orders'), '"orders"');
  t.is(quoteIdentifier('Mixed Case'), '"Mixed Case"');
  t.is(quoteIdentifier('offset'), '"offset"', 'reserved words are safe once quoted');
});

test('double quotes are doubled, so a name cannot close its quotes', (t) => {
  t.is(quoteIdentifier('a"b'), '"a""b"');
  t.is(quoteIdentifier('x"; DROP TABLE orders; --'), '"x""; DROP TABLE orders; --"');
  t.is(quoteIdentifier('"'), '""""');
  t.is(quoteIdentifier('t" (id) VALUES (1); --'), '"t"" (id) VALUES (1); --"');
});

test('single quotes, backslashes and dollar quotes stay literal inside the identifier', (t) => {
  t.is(quoteIdentifier("o'brien"), `"o'brien"`);
  t.is(quoteIdentifier('a\\b'), '"a\\b"');
  t.is(quoteIdentifier('$$x$$'), '"$$x$$"');
});

test('empty, NUL and over-long names are refused, not altered', (t) => {
  for (const bad of ['', 'a\0b', 'x'.repeat(64), 'é'.repeat(32)]) {
    const error = t.throws(() => quoteIdentifier(bad), { instanceOf: PipelineError });
    t.is(error.code, 'CONTRACT_MISMATCH');
  }
  t.is(quoteIdentifier('x'.repeat(63)), `"${'x'.repeat(63)}"`, '63 bytes is the limit');
  t.notThrows(() => quoteIdentifier('é'.repeat(31)), '62 bytes of UTF-8');
});

test('qualified quotes schema and table separately', (t) => {
  t.is(qualified('pipe line', 'orders'), '"pipe line"."orders"');
  t.is(qualified('s"', 't.x'), '"s"""."t.x"', 'a dot inside a name does not make a third part');
});
