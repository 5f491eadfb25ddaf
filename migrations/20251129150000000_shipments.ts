/**
 * `shipments` from schemas/shop/shipment.v1.avsc, typed by src/sink/column-types.ts. Insert table: the
 * primary key is the message's position in Kafka. Times of day are `time` and wall-clock readings
 * `timestamp` (without time zone): PostgreSQL keeps microseconds in both, and no session time zone shifts
 * them. The union of two records and the nested parcel are jsonb.
 */
import type { MigrationBuilder } from 'node-pg-migrate';

export function up(pgm: MigrationBuilder): void {
  pgm.createTable(
    'shipments',
    {
      shipment_id: { type: 'uuid', notNull: true },
      order_id: { type: 'uuid', notNull: true },
      carrier: { type: 'text', notNull: true },
      weight_kg: { type: 'real', notNull: true },
      distance_km: { type: 'double precision', notNull: true },
      label: { type: 'bytea', notNull: true },
      label_sha256: { type: 'bytea', notNull: true },
      pickup_from: { type: 'time', notNull: true },
      pickup_until: { type: 'time', notNull: true },
      promised_local: { type: 'timestamp', notNull: true },
      handed_over_local: { type: 'timestamp' },
      destination: { type: 'jsonb', notNull: true },
      parcel: { type: 'jsonb', notNull: true },
      _kafka_partition: { type: 'integer', notNull: true },
      _kafka_offset: { type: 'bigint', notNull: true },
      _kafka_timestamp: { type: 'timestamptz', notNull: true },
      _ingested_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
    },
    { constraints: { primaryKey: ['_kafka_partition', '_kafka_offset'] } },
  );
  // Tombstones delete by the catalog key.
  pgm.createIndex('shipments', 'shipment_id');
}

export function down(pgm: MigrationBuilder): void {
  pgm.dropTable('shipments');
}
