import test from 'ava';
import { binaryKeyText } from '../../src/sink/binary-key.ts';
import type { ColumnKind } from '../../src/sink/column-types.ts';
import { appendBinaryRow, binaryFieldEncoder } from '../../src/sink/copy-binary.ts';
import { CopyBuffer } from '../../src/sink/copy-buffer.ts';
import type { SqlText } from '../../src/sink/row-mapper.ts';
import { seeded } from '../support/seeded-random.ts';

const KINDS: Array<[ColumnKind, string, (r: ReturnType<typeof seeded>) => string]> = [
  ['text', 'text', (r) => ['', 'ü🎉', 'tab\tnew\nline', `k-${r.int(1e9)}`][r.int(4)]!],
  ['enum', 'text', (r) => ['RED', 'GREEN', 'BL_UE'][r.int(3)]!],
  [
    'uuid',
    'uuid',
    (r) =>
      Array.from({ length: 32 }, () => '0123456789abcdef'[r.int(16)])
        .join('')
        .replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-'),
  ],
  ['integer', 'integer', (r) => String([-2_147_483_648, 2_147_483_647, 0, r.int(1e9) - 5e8][r.int(4)])],
  [
    'bigint',
    'bigint',
    (r) => String([-(2n ** 63n), 2n ** 63n - 1n, 0n, BigInt(r.int(1e9)) * 10n ** 9n][r.int(4)]),
  ],
];

test('the key read back from a binary tuple is the text it was written from, at any position, NULL fields before it', (t) => {
  const r = seeded(11);
  const out = new CopyBuffer(1024);
  for (let i = 0; i < 2000; i++) {
    const [kind, pgType, make] = KINDS[r.int(KINDS.length)]!;
    const before = r.int(4);
    const types = [...Array.from({ length: before }, () => 'text'), pgType, 'bigint'];
    const key = r.next() < 0.05 ? null : make(r);
    const row: SqlText[] = [...Array.from({ length: before }, () => (r.next() < 0.5 ? null : 'x')), key, '7'];
    const line = appendBinaryRow(
      out,
      types.map((type) => binaryFieldEncoder(type)),
      row,
    );
    t.is(binaryKeyText(line.buffer, line.start, before, kind), key, `${kind} ${key}`);
  }
});

test('a key of a kind the tuple is not read back for is left to the caller', (t) => {
  const out = new CopyBuffer(64);
  const line = appendBinaryRow(out, [binaryFieldEncoder('date')], ['2026-11-29']);
  t.is(binaryKeyText(line.buffer, line.start, 0, 'date'), undefined);
});
