/**
 * The bench's binary COPY streams (bench/copy-binary.ts) are the sink's reference encoder's tuples between
 * its header and trailer; the encoder itself is tested in copy-binary.test.ts.
 */
import test from 'ava';
import {
  binaryColumnType,
  COPY_BINARY_HEADER,
  copyBinaryStream,
  encodeBinaryTuple,
} from '../../bench/copy-binary.ts';
import { appendBinaryRow, binaryFieldEncoder } from '../../src/sink/copy-binary.ts';
import { CopyBuffer } from '../../src/sink/copy-buffer.ts';

const hex = (b: Buffer) => b.toString('hex');

test('a tuple is the field count, then each length (-1 for NULL) and value; a stream adds header and trailer', (t) => {
  const tuple = encodeBinaryTuple(['int4', 'text', 'bool'], ['1', null, 't']);
  t.is(hex(tuple), '0003' + '00000004' + '00000001' + 'ffffffff' + '00000001' + '01');
  t.is(
    hex(copyBinaryStream(['int4', 'text', 'bool'], [['1', null, 't']])),
    `${hex(COPY_BINARY_HEADER)}${hex(tuple)}ffff`,
  );
  t.throws(() => encodeBinaryTuple(['int4'], ['1', '2']), { message: /2 fields for 1 columns/ });
});

test("the bench's tuples are the sink encoder's (appendBinaryRow) for the same row", (t) => {
  const pgTypes = ['uuid', 'timestamp with time zone', 'numeric(14,2)', 'jsonb', 'real', 'date', 'bytea'];
  const row = [
    '56ed8d24-0506-4130-a0ee-eca43b3f3ef1',
    '0001-12-31 23:59:59.999999+00 BC',
    '-1234.50',
    null,
    '18014399583223810',
    '5874897-12-31',
    '\\x00ff',
  ];
  const out = new CopyBuffer(0);
  const slice = appendBinaryRow(out, pgTypes.map(binaryFieldEncoder), row);
  t.is(
    hex(encodeBinaryTuple(pgTypes.map(binaryColumnType), row)),
    hex(slice.buffer.subarray(slice.start, slice.end)),
  );
});
