/**
 * `refunds` from schemas/shop/refund.v1.avsc, typed by src/sink/column-types.ts. Insert table: the primary
 * key is the message's position in Kafka. `amount` and `fee` are shop.Money, a type the schema uses by
 * reference (registered under its own subject): a record, so jsonb like any nested record.
 */
import type { MigrationBuilder } from 'node-pg-migrate';

export function up(pgm: MigrationBuilder): void {
  pgm.createTable(
    'refunds',
    {
      refund_id: { type: 'uuid', notNull: true },
      order_id: { type: 'uuid', notNull: true },
      amount: { type: 'jsonb', notNull: true },
      fee: { type: 'jsonb' },
      reason: { type: 'text', notNull: true },
      refunded_at: { type: 'timestamptz', notNull: true },
      _kafka_partition: { type: 'integer', notNull: true },
      _kafka_offset: { type: 'bigint', notNull: true },
      _kafka_timestamp: { type: 'timestamptz', notNull: true },
      _ingested_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
    },
    { constraints: { primaryKey: ['_kafka_partition', '_kafka_offset'] } },
  );
  // Tombstones delete by the catalog key.
  pgm.createIndex('refunds', 'refund_id');
}

export function down(pgm: MigrationBuilder): void {
  pgm.dropTable('refunds');
}
