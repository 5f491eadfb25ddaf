/**
 * Messages that can never become a row, with the raw Kafka bytes untouched (a replay decodes them again)
 * and why they failed. One row per message and group: a replay that fails again updates it.
 */
import type { MigrationBuilder } from 'node-pg-migrate';

export function up(pgm: MigrationBuilder): void {
  pgm.createTable(
    'dead_letters',
    {
      id: { type: 'bigserial', primaryKey: true },
      consumer_group: { type: 'text', notNull: true },
      topic: { type: 'text', notNull: true },
      partition: { type: 'integer', notNull: true },
      offset: { type: 'bigint', notNull: true },
      key: { type: 'bytea' },
      value: { type: 'bytea' },
      headers: { type: 'jsonb', notNull: true, default: pgm.func("'{}'::jsonb") },
      schema_id: { type: 'integer' },
      error_class: { type: 'text', notNull: true },
      sql_state: { type: 'text' },
      message: { type: 'text', notNull: true },
      failed_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
    },
    {
      constraints: {
        unique: [['consumer_group', 'topic', 'partition', 'offset']],
      },
    },
  );
  // Replay lists by group and topic, oldest first.
  pgm.createIndex('dead_letters', ['topic', 'id']);
}

export function down(pgm: MigrationBuilder): void {
  pgm.dropTable('dead_letters');
}
