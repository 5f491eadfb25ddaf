/**
 * `page_views` from schemas/shop/page-view.v1.avsc, typed by src/sink/column-types.ts. Insert table:
 * the primary key is the message's position in Kafka, so one message can never be two rows.
 */
import type { MigrationBuilder } from 'node-pg-migrate';

export function up(pgm: MigrationBuilder): void {
  pgm.createTable(
    'page_views',
    {
      view_id: { type: 'uuid', notNull: true },
      session_id: { type: 'text', notNull: true },
      customer_id: { type: 'bigint' },
      url: { type: 'text', notNull: true },
      referrer: { type: 'text' },
      duration_ms: { type: 'integer', notNull: true },
      is_bounce: { type: 'boolean', notNull: true },
      viewed_at: { type: 'timestamptz', notNull: true },
      attributes: { type: 'jsonb', notNull: true },
      _kafka_partition: { type: 'integer', notNull: true },
      _kafka_offset: { type: 'bigint', notNull: true },
      _kafka_timestamp: { type: 'timestamptz', notNull: true },
      _ingested_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
    },
    { constraints: { primaryKey: ['_kafka_partition', '_kafka_offset'] } },
  );
  // Tombstones delete by the catalog key.
  pgm.createIndex('page_views', 'view_id');
}

export function down(pgm: MigrationBuilder): void {
  pgm.dropTable('page_views');
}
