/**
 * The key column's text read back from a binary COPY tuple, as the text path reads it back from a COPY text
 * line (copyTextFieldAt): upserts group a batch's rows by key, and a fast-path row is only its bytes.
 */
import type { ColumnKind } from './column-types.ts';
import type { SqlText } from './row-mapper.ts';

const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
/** A UUID's text is written here, then read as one string. */
const UUID_TEXT = Buffer.alloc(36) as Buffer & { latin1Slice(start: number, end: number): string };

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
      if (length !== 16) return buffer.toString('hex', from, to);
      // One string per key, rather than a hex string, five slices and their concatenation.
      let p = 0;
      for (let i = 0; i < 16; i++) {
        if (i === 4 || i === 6 || i === 8 || i === 10) UUID_TEXT[p++] = 0x2d;
        const b = buffer[from + i]!;
        UUID_TEXT[p++] = HEX_DIGITS[b >> 4]!;
        UUID_TEXT[p++] = HEX_DIGITS[b & 15]!;
      }
      return UUID_TEXT.latin1Slice(0, 36);
    }
    case 'integer':
      return String(buffer.readInt32BE(from));
    case 'bigint':
      return buffer.readBigInt64BE(from).toString();
    default:
      return undefined;
  }
}
