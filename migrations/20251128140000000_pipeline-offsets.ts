/**
 * Where each consumer group stands, per topic and partition: written in the same transaction as the rows, so
 * that a redelivered message is recognised by the database whatever the Kafka client did.
 */
import type { MigrationBuilder } from 'node-pg-migrate';

export function up(pgm: MigrationBuilder): void {
  pgm.createTable(
    'pipeline_offsets',
    {
      consumer_group: { type: 'text', notNull: true },
      topic: { type: 'text', notNull: true },
      partition: { type: 'integer', notNull: true },
      next_offset: { type: 'bigint', notNull: true },
      updated_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
    },
    { constraints: { primaryKey: ['consumer_group', 'topic', 'partition'] } },
  );
}

export function down(pgm: MigrationBuilder): void {
  pgm.dropTable('pipeline_offsets');
}
