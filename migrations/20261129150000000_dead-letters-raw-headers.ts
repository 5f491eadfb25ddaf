/**
 * Dead letters keep their headers raw: the jsonb object (values decoded as UTF-8, repeated keys joined,
 * NUL written as text, null values dropped) becomes two parallel arrays, `header_keys[i]` and
 * `header_values[i]` the i-th header's key and value bytes (a NULL element: a null value). Letters stored
 * before keep what the jsonb held, in jsonb's key order.
 */
import type { MigrationBuilder } from 'node-pg-migrate';

export function up(pgm: MigrationBuilder): void {
  pgm.addColumns('dead_letters', {
    header_keys: { type: 'bytea[]', notNull: true, default: pgm.func("'{}'::bytea[]") },
    header_values: { type: 'bytea[]', notNull: true, default: pgm.func("'{}'::bytea[]") },
  });
  pgm.sql(`
    UPDATE dead_letters
       SET header_keys = ARRAY(SELECT convert_to(h.key, 'UTF8') FROM jsonb_each_text(headers) WITH ORDINALITY AS h(key, value, n) ORDER BY h.n),
           header_values = ARRAY(SELECT convert_to(h.value, 'UTF8') FROM jsonb_each_text(headers) WITH ORDINALITY AS h(key, value, n) ORDER BY h.n)
     WHERE headers <> '{}'::jsonb`);
  pgm.addConstraint('dead_letters', 'dead_letters_header_pairs', {
    check: 'cardinality(header_keys) = cardinality(header_values)',
  });
  pgm.dropColumns('dead_letters', ['headers']);
}

/** Back to the jsonb object: lossy as it always was (the last of repeated keys wins, bytes shown as text). */
export function down(pgm: MigrationBuilder): void {
  pgm.addColumns('dead_letters', {
    headers: { type: 'jsonb', notNull: true, default: pgm.func("'{}'::jsonb") },
  });
  // UTF-8 text where the bytes are UTF-8 without NUL (what jsonb can hold), else encode(…, 'escape'): never
  // fails, never NUL, other bytes as \ooo.
  pgm.sql(`
    CREATE FUNCTION pg_temp.header_text(b bytea) RETURNS text LANGUAGE plpgsql AS $$
    BEGIN
      RETURN convert_from(b, 'UTF8');
    EXCEPTION WHEN others THEN
      RETURN encode(b, 'escape');
    END $$`);
  pgm.sql(`
    UPDATE dead_letters
       SET headers = (SELECT jsonb_object_agg(pg_temp.header_text(k), CASE WHEN v IS NULL THEN 'null'::jsonb ELSE to_jsonb(pg_temp.header_text(v)) END)
                        FROM unnest(header_keys, header_values) AS h(k, v))
     WHERE cardinality(header_keys) > 0`);
  pgm.dropColumns('dead_letters', ['header_keys', 'header_values']);
}
