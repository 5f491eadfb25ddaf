import test from 'ava';
import { copyTextChunks, copyTextField, copyTextLine } from '../../src/sink/copy-text.ts';

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
