import test from 'ava';
import { decodeWireFormat, encodeWireFormat } from '../../src/codec/wire-format.ts';
import { PoisonMessageError } from '../../src/errors.ts';

test('a body round-trips with its schema id, big-endian after the magic byte', (t) => {
  const body = Buffer.from([1, 2, 3]);
  const encoded = encodeWireFormat(0x01020304, body);
  t.deepEqual([...encoded], [0, 1, 2, 3, 4, 1, 2, 3]);
  const decoded = decodeWireFormat(encoded);
  t.is(decoded.schemaId, 0x01020304);
  t.deepEqual(decoded.body, body);
});

test('an empty body is valid: a record without fields encodes to nothing', (t) => {
  t.is(decodeWireFormat(encodeWireFormat(7, Buffer.alloc(0))).body.length, 0);
});

test('a value shorter than five bytes is a poison message saying how long it was', (t) => {
  for (const length of [0, 1, 4]) {
    const error = t.throws(() => decodeWireFormat(Buffer.alloc(length)), { instanceOf: PoisonMessageError });
    t.is(error.code, 'WIRE_FORMAT_INVALID');
    t.regex(error.message, new RegExp(`has ${length} byte`));
    t.is(error.details.length, length);
  }
});

test('another magic byte is a poison message naming the byte found', (t) => {
  const json = Buffer.from('{"order_id":1}');
  const error = t.throws(() => decodeWireFormat(json), { instanceOf: PoisonMessageError });
  t.is(error.code, 'WIRE_FORMAT_INVALID');
  t.regex(error.message, /starts with byte 0x7b/);
  t.is(error.details.magicByte, 0x7b);
});
