/**
 * The key column's text read back from a binary COPY tuple, as the text path reads it back from a COPY text
 * line (copyTextFieldAt): upserts group a batch's rows by key, and a fast-path row is only its bytes.
 */
import type { ColumnKind } from './column-types.ts';
import type { SqlText } from './row-mapper.ts';

/**
 * The text of field `index` of the tuple that starts at `start` (its int16 field count) for the key kinds
 * whose binary form reads back exactly (text, enum, uuid, integer, bigint); undefined for the other kinds
 * (the caller takes the reference row's key).
 */
export function binaryKeyText(
  buffer: Buffer,
  start: number,
  index: number,
  kind: ColumnKind,
): SqlText | undefined {
  let pos = start + 2;
  for (let i = 0; i < index; i++) {
    const length = buffer.readInt32BE(pos);
    pos += 4 + Math.max(length, 0);
  }
  const length = buffer.readInt32BE(pos);
  if (length < 0) return null;
  const from = pos + 4;
  const to = from + length;
  switch (kind) {
    case 'text':
    case 'enum':
      return buffer.toString('utf8', from, to);
    case 'uuid': {
      const hex = buffer.toString('hex', from, to);
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    }
    case 'integer':
      return String(buffer.readInt32BE(from));
    case 'bigint':
      return buffer.readBigInt64BE(from).toString();
    default:
      return undefined;
  }
}
