import test from 'ava';
import { parseSchema } from '../../src/contracts/catalog.ts';
import { PipelineError } from '../../src/errors.ts';
import { fieldColumns } from '../../src/sink/column-types.ts';
import { defaultLiteral, sqlString } from '../../src/sink/sql-literal.ts';
import { allTypesSchema } from '../support/all-types.ts';

test('strings become constants PostgreSQL reads back unchanged: quotes doubled, backslashes in E strings', (t) => {
  t.is(sqlString(''), "''");
  t.is(sqlString('WEB'), "'WEB'");
  t.is(sqlString("O'Brien"), "'O''Brien'");
  t.is(sqlString("'; DROP TABLE orders; --"), "'''; DROP TABLE orders; --'");
  t.is(sqlString('a\\b'), "E'a\\\\b'");
  t.is(sqlString("\\'"), "E'\\\\'''", 'a backslash cannot escape the closing quote');
  t.is(sqlString('$$ $pg1$ "x" ünï 🎉\n\t'), `'$$ $pg1$ "x" ünï 🎉\n\t'`);
  const nul = t.throws(() => sqlString('a\u0000b'), { instanceOf: PipelineError });
  t.regex(nul.message, /NUL/);
});

const columns = new Map(fieldColumns(parseSchema(allTypesSchema, 'all-types')).map((c) => [c.name, c]));
const column = (name: string) => columns.get(name)!;

test('defaults of every column kind render as SQL constants of the column type', (t) => {
  t.is(defaultLiteral(column('flag'), false), 'false');
  t.is(defaultLiteral(column('small'), -7), '-7');
  t.is(defaultLiteral(column('big'), 2n ** 62n), '4611686018427387904');
  t.is(defaultLiteral(column('single'), 0.5), "'0.5'");
  t.is(defaultLiteral(column('double'), -0), "'-0'", 'minus zero keeps its sign');
  t.is(defaultLiteral(column('double'), Number.NaN), "'NaN'");
  t.is(defaultLiteral(column('double'), Number.NEGATIVE_INFINITY), "'-Infinity'");
  t.is(defaultLiteral(column('label'), "it's"), "'it''s'");
  t.is(defaultLiteral(column('colour'), 'GREEN'), "'GREEN'");
  t.is(defaultLiteral(column('raw'), Buffer.from([0, 255])), "E'\\\\x00ff'");
  t.is(defaultLiteral(column('amount'), '-12.500'), "'-12.500'");
  t.is(defaultLiteral(column('at_ms'), new Date(1)), "'1970-01-01T00:00:00.001Z'");
  t.is(defaultLiteral(column('at_us'), -1n), "'1969-12-31T23:59:59.999999Z'");
  t.is(defaultLiteral(column('day'), '2026-02-28'), "'2026-02-28'");
  t.is(defaultLiteral(column('time_us'), '00:00:00.000001'), "'00:00:00.000001'");
  t.is(defaultLiteral(column('local_ms'), '2026-03-29T02:30:00.000'), "'2026-03-29T02:30:00.000'");
  t.is(defaultLiteral(column('tags'), { "o'k": 'a\\b' }), `E'{"o''k":"a\\\\\\\\b"}'`);
  t.is(defaultLiteral(column('list'), [1n, 2]), "'[1,2]'");
});

test('a default that is not a value of the column is refused, never written as SQL', (t) => {
  for (const [name, value] of [
    ['small', '1; DROP TABLE x'],
    ['small', 1.5],
    ['big', Number.NaN],
    ['flag', 'true'],
    ['single', '1'],
    ['label', 5],
    ['raw', 'bytes'],
    ['at_ms', 5],
  ] as const) {
    const error = t.throws(() => defaultLiteral(column(name), value), { instanceOf: PipelineError });
    t.is(error.code, 'SCHEMA_INVALID', `${name} ${String(value)}`);
  }
});
