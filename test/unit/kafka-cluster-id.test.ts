import test from 'ava';
import { kafkaClusterId } from '../../src/stack/kafka-service.ts';

// CI failed once with "kafka-storage: error: argument --cluster-id/-t: expected one argument": the random id
// began with '-' (one id in 64) and the storage tool took it for an option.
test('a cluster id that would start with a dash is drawn again', (t) => {
  const draws = [
    Buffer.alloc(16, 0xf8),
    Buffer.alloc(16, 0xf8),
    Buffer.from('00112233445566778899aabbccddeeff', 'hex'),
  ];
  let calls = 0;
  const id = kafkaClusterId(() => draws[calls++]!);
  t.is(Buffer.alloc(16, 0xf8).toString('base64url')[0], '-');
  t.is(calls, 3);
  t.is(id, draws[2]!.toString('base64url'));
});

test('cluster ids are 22 base64url characters of 16 bytes and never start with a dash', (t) => {
  for (let i = 0; i < 2000; i++) {
    const id = kafkaClusterId();
    t.regex(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    t.is(Buffer.from(id, 'base64url').length, 16);
  }
});
