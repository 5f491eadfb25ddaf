import test from 'ava';
import { offsetBelow } from '../../src/consumer/kafka-offset.ts';
import { seeded } from '../support/seeded-random.ts';

test('offsets compare as BigInts do, beyond 2^53 and across lengths', (t) => {
  const random = seeded(9);
  const offset = (): string => {
    // Every length from one digit to int64's nineteen, and neighbours of 2^53 and 2^63 - 1.
    const pick = random.int(4);
    if (pick === 0) return String(random.int(20));
    if (pick === 1) return (2n ** 53n + BigInt(random.int(5)) - 2n).toString();
    if (pick === 2) return (2n ** 63n - 1n - BigInt(random.int(3))).toString();
    const digits = 1 + random.int(19);
    return BigInt(`1${'0'.repeat(digits - 1)}`) + BigInt(random.int(1_000_000)) > 2n ** 63n - 1n
      ? (2n ** 63n - 1n).toString()
      : (BigInt(`1${'0'.repeat(digits - 1)}`) + BigInt(random.int(1_000_000))).toString();
  };
  for (let i = 0; i < 20_000; i++) {
    const a = offset();
    const b = random.int(8) === 0 ? a : offset();
    t.is(offsetBelow(a, b), BigInt(a) < BigInt(b), `${a} < ${b}`);
  }
  t.true(offsetBelow('9007199254740992', '9007199254740993'), 'numbers would call these equal');
  t.false(offsetBelow('10', '9'));
  t.false(offsetBelow('0', '0'));
});
