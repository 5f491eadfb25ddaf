/**
 * Regression tests of the binary COPY write path (transcodeBinary, copy-binary.ts) on bodies the real
 * decoder takes but the random writers never make: the binary path must write what the text path writes, or
 * refuse what PostgreSQL refuses in COPY text (a dead letter), never a different value and never
 * INVARIANT_BROKEN (which stops the consumer) for a message it can decode.
 */

import test from 'ava';
import type avro from 'avsc';
import { MessageDecoder } from '../../src/codec/message-decoder.ts';
import { decodeStrict } from '../../src/codec/strict-decode.ts';
import { encodeWireFormat } from '../../src/codec/wire-format.ts';
import type { CatalogEntry } from '../../src/contracts/catalog.ts';
import { PoisonMessageError } from '../../src/errors.ts';
import { appendBinaryRow, binaryFieldEncoder } from '../../src/sink/copy-binary.ts';
import { CopyBuffer } from '../../src/sink/copy-buffer.ts';
import { createRowMapper } from '../../src/sink/row-mapper.ts';
import { compileTranscoder } from '../../src/sink/row-transcoder.ts';
import { schemaEntry } from '../support/schema-entry.ts';

const meta = { partition: 0, offset: '1', timestamp: '1767225600000' };

function entryOf(schema: unknown): CatalogEntry {
  return schemaEntry(schema, { topic: 'r', table: 'r' });
}

/** Avro's zig-zag varint of any integer (a writer that does not check an int's 32 bits writes it). */
function varint(n: bigint): number[] {
  let v = n >= 0n ? 2n * n : -2n * n - 1n;
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

const intRecord = {
  type: 'record',
  name: 'WithInt',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'n', type: 'int' },
    { name: 'm', type: ['null', 'int'] },
  ],
};

/** A body of intRecord with `n` (and `m`, as its [null, int] branch) holding `value`. */
function intBody(value: bigint, inUnion: boolean): Buffer {
  return Buffer.from([
    ...varint(1n),
    0x61,
    ...varint(inUnion ? 7n : value),
    ...varint(1n),
    ...varint(inUnion ? value : 7n),
  ]);
}

/** The reference row's binary tuple, or the refusal it meets (the message's verdict on the binary path). */
function referenceTuple(entry: CatalogEntry, body: Buffer): Buffer | PoisonMessageError {
  const writer = entry.reader.type as avro.Type;
  const mapper = createRowMapper(entry);
  const value = decodeStrict(body, writer.createResolver(writer), 'r', writer) as Record<string, unknown>;
  const row = mapper.toRow(value, meta);
  try {
    const line = appendBinaryRow(
      new CopyBuffer(),
      mapper.columns.map((c) => binaryFieldEncoder(c.pgType)),
      row,
    );
    return Buffer.from(line.buffer.subarray(line.start, line.end));
  } catch (error) {
    if (error instanceof PoisonMessageError) return error;
    throw error;
  }
}

test('an Avro int past 32 bits is a refused row on the binary path, as PostgreSQL refuses its text (was: its low 32 bits written as the integer)', (t) => {
  const entry = entryOf(intRecord);
  const transcoder = compileTranscoder(entry, entry.reader.type)!;
  for (const value of [2n ** 32n + 5n, 2n ** 31n, -(2n ** 31n) - 1n, 2n ** 52n, -(2n ** 52n)]) {
    for (const inUnion of [false, true]) {
      const body = intBody(value, inUnion);
      // The text path writes the digits (or leaves it to the reference, which writes them), which
      // PostgreSQL's int4 refuses: the row is a dead letter.
      const copy = transcoder.transcodeCopy(body);
      if (copy !== undefined)
        t.true(copy.buffer.subarray(copy.start, copy.end).toString().includes(String(value)), `${value}`);
      // The binary path must not write a row of another number: it leaves the message to the reference.
      t.is(transcoder.transcodeBinary(body), undefined, `${value} ${inUnion ? 'in a union' : ''}`);
      const reference = referenceTuple(entry, body);
      t.true(reference instanceof PoisonMessageError, `${value}`);
      t.is((reference as PoisonMessageError).code, 'ROW_REJECTED');
    }
  }
  // Ints that fit still take the fast path.
  t.not(transcoder.transcodeBinary(intBody(2n ** 31n - 1n, false)), undefined);
  t.not(transcoder.transcodeBinary(intBody(-(2n ** 31n), true)), undefined);
});

test('an Avro int of 1e21 or more is a refused row on the binary path, as PostgreSQL refuses its text "1e+21" (was: INVARIANT_BROKEN, the consumer stopped)', (t) => {
  const entry = entryOf(intRecord);
  for (const value of [10n ** 21n, -(10n ** 21n), 2n ** 80n]) {
    for (const inUnion of [false, true]) {
      const body = intBody(value, inUnion);
      const reference = referenceTuple(entry, body);
      t.true(reference instanceof PoisonMessageError, `${value}`);
      t.is((reference as PoisonMessageError).code, 'ROW_REJECTED', `${value}`);
    }
  }
});

test('a writer with the fields in another order than the reader, and an Avro int past 32 bits: decodeBatch leaves the message to the reference path (was: transcodeBinary threw the refusal out of decodeBatch, failing the whole batch)', async (t) => {
  const entry = entryOf(intRecord);
  // The same fields, `n` first: transcodeBinary writes the texts of `transcode` through the column encoders.
  const writerSchema = {
    ...intRecord,
    fields: [intRecord.fields[1], intRecord.fields[0], intRecord.fields[2]],
  };
  const decoder = new MessageDecoder({ schemaById: async () => writerSchema as avro.Schema });
  const body = (n: bigint) => Buffer.from([...varint(n), ...varint(1n), 0x61, ...varint(0n)]);
  const values = [encodeWireFormat(1, body(2n ** 32n)), encodeWireFormat(1, body(5n))];
  for (const format of ['binary', 'text'] as const) {
    const [wide, usual] = await decoder.decodeBatch(entry, values, format);
    // The reference path's row: the sink's encoders refuse it (binary) as PostgreSQL refuses its text.
    t.is(wide!.kind, 'row', format);
    if (wide!.kind === 'row') {
      t.is((wide as { copy?: unknown }).copy === undefined, format === 'binary', format);
      t.is((wide!.value as { n: unknown }).n, 2 ** 32);
    }
    t.is(usual!.kind, 'row');
    t.not((usual as { copy?: unknown }).copy, undefined, `${format}: the usual int takes the fast path`);
  }
});
