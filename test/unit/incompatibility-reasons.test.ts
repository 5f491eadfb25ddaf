import test from 'ava';
import { parseSchema } from '../../src/contracts/catalog.ts';
import { incompatibilityReasons } from '../../src/contracts/incompatibility-reasons.ts';

const base = {
  type: 'record',
  name: 'R',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'kind', type: { type: 'enum', name: 'Kind', symbols: ['A', 'B'] } },
    {
      name: 'items',
      type: { type: 'array', items: { type: 'record', name: 'Item', fields: [{ name: 'n', type: 'int' }] } },
    },
  ],
};
const type = (schema: object) => parseSchema(schema, 'test');
const withFields = (fields: object[]) => type({ ...base, fields });

test('a compatible evolution has no reasons', (t) => {
  const next = withFields([...base.fields, { name: 'note', type: ['null', 'string'], default: null }]);
  t.deepEqual(incompatibilityReasons('FULL', next, type(base)), []);
});

test('a field added without a default is named (BACKWARD)', (t) => {
  const next = withFields([...base.fields, { name: 'channel', type: 'string' }]);
  t.deepEqual(incompatibilityReasons('BACKWARD', next, type(base)), [
    'new schema reading old data: field "channel": (absent) read as string: the field is not in the writer schema and has no default',
  ]);
  t.deepEqual(incompatibilityReasons('FORWARD', next, type(base)), []);
});

test('a removed enum symbol and a nested type change are named with their path', (t) => {
  const next = withFields([
    base.fields[0]!,
    { name: 'kind', type: { type: 'enum', name: 'Kind', symbols: ['A'] } },
    {
      name: 'items',
      type: {
        type: 'array',
        items: { type: 'record', name: 'Item', fields: [{ name: 'n', type: 'string' }] },
      },
    },
  ]);
  const reasons = incompatibilityReasons('BACKWARD', next, type(base));
  t.true(
    reasons.some((r) =>
      /field "kind": Kind read as Kind: enum symbol\(s\) B removed without an enum default/.test(r),
    ),
    reasons.join('\n'),
  );
  t.true(
    reasons.some((r) =>
      /field "items\[\]\.n": int read as string: Avro has no resolution from int to string/.test(r),
    ),
    reasons.join('\n'),
  );
});
