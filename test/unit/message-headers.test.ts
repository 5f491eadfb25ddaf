import { createRequire } from 'node:module';
import test from 'ava';
import { headersOf } from '../../src/sink/message-headers.ts';

// kafkajs' own record decoder, fed the bytes of a record as they are on the wire: what the consumer gets.
const require = createRequire(import.meta.url);
const Encoder = require('kafkajs/src/protocol/encoder.js');
const Decoder = require('kafkajs/src/protocol/decoder.js');
const decodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/decoder.js');

type WireHeader = [key: string, value: Buffer | null];

function kafkajsHeaders(headers: WireHeader[]): Record<string, Buffer | Buffer[]> {
  const encoder = new Encoder()
    .writeInt8(0)
    .writeVarLong(0)
    .writeVarInt(0)
    .writeVarIntBytes(Buffer.from('k'))
    .writeVarIntBytes(Buffer.from('v'))
    .writeVarIntArray(
      headers.map(([key, value]) => new Encoder().writeVarIntString(key).writeVarIntBytes(value)),
    );
  return decodeRecord(new Decoder(encoder.buffer), { firstOffset: '0', firstTimestamp: '0' }).headers;
}

test('headers keep every value byte, repeats and nulls, in the order kafkajs keeps (was: UTF-8 text, repeats joined with ",")', (t) => {
  const wire: WireHeader[] = [
    ['a', Buffer.from([0xff, 0xfe, 0x00])],
    ['b', null],
    ['a', Buffer.from('2, with a comma')],
    ['c', Buffer.alloc(0)],
  ];
  const headers = headersOf(kafkajsHeaders(wire));
  t.deepEqual(
    headers.map((h) => [h.key.toString(), h.value]),
    // kafkajs folds the list into an object: the values of one key stay in order, behind its first place.
    [
      ['a', Buffer.from([0xff, 0xfe, 0x00])],
      ['a', Buffer.from('2, with a comma')],
      ['b', null],
      ['c', Buffer.alloc(0)],
    ],
  );
});

test('what kafkajs cannot keep, as the README states: integer-like keys come first', (t) => {
  const headers = headersOf(
    kafkajsHeaders([
      ['z', Buffer.from('1')],
      ['7', Buffer.from('2')],
    ]),
  );
  t.deepEqual(
    headers.map((h) => h.key.toString()),
    ['7', 'z'],
  );
  t.deepEqual(headersOf(undefined), []);
  t.deepEqual(headersOf({ s: 'text', n: undefined }), [
    { key: Buffer.from('s'), value: Buffer.from('text') },
    { key: Buffer.from('n'), value: null },
  ]);
});

test('a message without headers makes no list of its own; one with headers gets a fresh one', (t) => {
  const none = headersOf(kafkajsHeaders([]));
  t.deepEqual(none, []);
  t.is(headersOf({}), none, 'the shared empty list');
  t.true(Object.isFrozen(none), 'nobody can add to the shared list');
  const one = headersOf(kafkajsHeaders([['a', Buffer.from('1')]]));
  t.not(one, headersOf(kafkajsHeaders([['a', Buffer.from('1')]])));
});
