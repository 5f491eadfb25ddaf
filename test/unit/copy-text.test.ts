import test from 'ava';
import {
  copyTextChunks,
  copyTextField,
  copyTextFieldAt,
  copyTextLine,
  parseCopyTextLine,
} from '../../src/sink/copy-text.ts';
import { seeded } from '../support/seeded-random.ts';

test('NULL is \\N and the empty string an empty field: the two stay distinct', (t) => {
  t.is(copyTextField(null), '\\N');
  t.is(copyTextField(''), '');
  t.is(copyTextLine([null, '', 'x']), '\\N\t\tx\n');
});

test('tabs, newlines, carriage returns and backslashes are escaped', (t) => {
  t.is(copyTextField('a\tb'), 'a\\tb');
  t.is(copyTextField('line1\nline2\r\n'), 'line1\\nline2\\r\\n');
  t.is(copyTextField('C:\\path'), 'C:\\\\path');
  t.is(copyTextField('\\N'), '\\\\N', 'the text "\\N" is not NULL');
  t.is(copyTextField('\\.'), '\\\\.', 'cannot end the data early');
  t.is(copyTextField('plain text, commas; "quotes"'), 'plain text, commas; "quotes"');
});

test('chunks hold whole lines and join to the full text', (t) => {
  const rows = Array.from({ length: 1000 }, (_, i) => [String(i), i % 2 === 0 ? null : 'x\ty']);
  const chunks = [...copyTextChunks(rows, 100)];
  t.true(chunks.length > 1);
  for (const chunk of chunks) t.true(chunk.endsWith('\n'));
  t.is(chunks.join(''), rows.map(copyTextLine).join(''));
});

test('copyTextFieldAt reads one field of a line as parseCopyTextLine reads them all: NULL, empty, escapes, first and last, in a larger buffer', (t) => {
  const r = seeded(31);
  const pieces = ['', '\\N', 'a\tb', 'x\ny\rz', 'C:\\path', 'ü🎉', '\\', 'plain', '\\t'];
  let checked = 0;
  for (let n = 0; n < 300; n++) {
    const row = Array.from({ length: 1 + r.int(6) }, () => (r.next() < 0.2 ? null : r.pick(pieces)));
    // Bytes before and after the line: the field is read from its slice only.
    const before = Buffer.from('x\ty\t\\N\t');
    const line = Buffer.from(copyTextLine(row));
    const buffer = Buffer.concat([before, line, Buffer.from('\tafter\n')]);
    const start = before.length;
    const end = start + line.length;
    t.deepEqual(parseCopyTextLine(buffer, start, end), row);
    for (let i = 0; i < row.length; i++) {
      t.is(copyTextFieldAt(buffer, start, end, i), row[i]!, JSON.stringify({ row, i }));
      checked++;
    }
    t.throws(() => copyTextFieldAt(buffer, start, end, row.length), { message: /fewer than/ });
  }
  t.true(checked > 600);
});
