import test from 'ava';
import { loadCatalog, parseSchema } from '../../src/contracts/catalog.ts';
import { columnForType, fieldColumns } from '../../src/sink/column-types.ts';
import { allTypesSchema } from '../support/all-types.ts';

test('every Avro type and logical type maps to its PostgreSQL type', (t) => {
  const columns = fieldColumns(parseSchema(allTypesSchema, 'all-types'));
  const shown = Object.fromEntries(
    columns.map((c) => [c.name, `${c.pgType}${c.nullable ? '' : ' NOT NULL'} (${c.kind})`]),
  );
  t.deepEqual(shown, {
    id: 'uuid NOT NULL (uuid)',
    flag: 'boolean NOT NULL (boolean)',
    small: 'integer NOT NULL (integer)',
    big: 'bigint NOT NULL (bigint)',
    single: 'real NOT NULL (float)',
    double: 'double precision NOT NULL (float)',
    label: 'text NOT NULL (text)',
    colour: 'text NOT NULL (enum)',
    raw: 'bytea NOT NULL (bytes)',
    four: 'bytea NOT NULL (bytes)',
    amount: 'numeric(10,3) NOT NULL (decimal)',
    fixed_amount: 'numeric(9,0) NOT NULL (decimal)',
    at_ms: 'timestamp with time zone NOT NULL (timestamp-millis)',
    at_us: 'timestamp with time zone NOT NULL (timestamp-micros)',
    day: 'date NOT NULL (date)',
    nested: 'jsonb NOT NULL (json)',
    list: 'jsonb NOT NULL (json)',
    tags: 'jsonb NOT NULL (json)',
    maybe_text: 'text (text)',
    maybe_day: 'date (date)',
    maybe_amount: 'numeric(10,3) (decimal)',
    text_or_long: 'jsonb (json)',
    text_or_number: 'jsonb NOT NULL (json)',
    maybe_us_last: 'timestamp with time zone (timestamp-micros)',
    time_ms: 'time without time zone NOT NULL (time)',
    time_us: 'time without time zone NOT NULL (time)',
    local_ms: 'timestamp without time zone NOT NULL (local-timestamp)',
    local_us: 'timestamp without time zone NOT NULL (local-timestamp)',
    either_record: 'jsonb NOT NULL (json)',
    deep: 'jsonb NOT NULL (json)',
  });
  t.deepEqual(columns.find((c) => c.name === 'colour')?.symbols, ['RED', 'GREEN', 'BL_UE']);
});

test('the shop schemas map to the columns their migrations create', (t) => {
  const catalog = loadCatalog(new URL('../../schemas', import.meta.url).pathname);
  const orders = catalog.entries.find((e) => e.table === 'orders')!;
  t.deepEqual(
    fieldColumns(orders.reader.type).map((c) => `${c.name} ${c.pgType}${c.nullable ? '' : ' NOT NULL'}`),
    [
      'order_id uuid NOT NULL',
      'customer_id bigint NOT NULL',
      'version integer NOT NULL',
      'status text NOT NULL',
      'currency text NOT NULL',
      'lines jsonb NOT NULL',
      'total numeric(14,2) NOT NULL',
      'placed_at timestamp with time zone NOT NULL',
      'updated_at timestamp with time zone NOT NULL',
      'coupon_code text',
      'delivery_date date',
    ],
  );
});

test('a bare null field cannot be a column', (t) => {
  const type = parseSchema({ type: 'record', name: 'N', fields: [{ name: 'n', type: 'null' }] }, 'n');
  t.throws(() => columnForType('n', (type as unknown as { fields: { type: never }[] }).fields[0]!.type), {
    message: /field "n" of type null cannot be a column/,
  });
});
