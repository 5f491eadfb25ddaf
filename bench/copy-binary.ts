/**
 * Whole binary COPY streams of pre-built rows, for the raw binary COPY limit: the rows the sink's row mapper
 * made (their columns' text) turned into tuples before timing, by the sink's own reference encoders
 * (src/sink/copy-binary.ts), so that the timed part is PostgreSQL receiving binary tuples.
 */
import {
  type BinaryColumnType,
  binaryColumnType,
  COPY_BINARY_HEADER,
  COPY_BINARY_TRAILER,
  encodeBinaryValue,
} from '../src/sink/copy-binary.ts';
import type { SqlText } from '../src/sink/row-mapper.ts';

export {
  type BinaryColumnType,
  binaryColumnType,
  COPY_BINARY_HEADER,
  COPY_BINARY_TRAILER,
  encodeBinaryValue,
};

function int(size: 2 | 4, value: number): Buffer {
  const out = Buffer.alloc(size);
  if (size === 2) out.writeInt16BE(value);
  else out.writeInt32BE(value);
  return out;
}

/** One tuple: field count, then each field's length (-1 for NULL) and bytes. */
export function encodeBinaryTuple(types: readonly BinaryColumnType[], row: readonly SqlText[]): Buffer {
  if (row.length !== types.length)
    throw new RangeError(`a row of ${row.length} fields for ${types.length} columns`);
  const parts: Buffer[] = [int(2, types.length)];
  for (let i = 0; i < types.length; i++) {
    const value = row[i];
    if (value === null || value === undefined) {
      parts.push(int(4, -1));
      continue;
    }
    const bytes = encodeBinaryValue(types[i]!, value);
    parts.push(int(4, bytes.length), bytes);
  }
  return Buffer.concat(parts);
}

/** A whole COPY … FROM STDIN (FORMAT binary) stream: header, tuples, trailer. */
export function copyBinaryStream(types: readonly BinaryColumnType[], rows: readonly (readonly SqlText[])[]) {
  return Buffer.concat([
    COPY_BINARY_HEADER,
    ...rows.map((r) => encodeBinaryTuple(types, r)),
    COPY_BINARY_TRAILER,
  ]);
}
