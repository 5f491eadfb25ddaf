/**
 * Dead letters keep the message's Kafka timestamp, so that a replayed row carries the time the event was
 * produced (its `_kafka_timestamp`), not the time it failed. Nullable: letters written before this
 * migration have none, and replay falls back to `failed_at` for them.
 */
import type { MigrationBuilder } from 'node-pg-migrate';

export function up(pgm: MigrationBuilder): void {
  pgm.addColumns('dead_letters', { kafka_timestamp: { type: 'timestamptz' } });
}

export function down(pgm: MigrationBuilder): void {
  pgm.dropColumns('dead_letters', ['kafka_timestamp']);
}
