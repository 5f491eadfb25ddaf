/**
 * `orders` from the reader schema v1 of shop.orders (schemas/shop/order.v1.avsc), typed by the mapping of
 * src/sink/column-types.ts. Upsert table: one row per order_id, the highest version wins.
 *
 * Enums are text with a CHECK rather than PostgreSQL enum types: a new symbol is a constraint swap in one
 * transaction (ALTER TYPE … ADD VALUE cannot be used before it commits, and a symbol can never be removed),
 * and the bulk writer binds plain text[] arrays without a custom type to cast to.
 */
import type { MigrationBuilder } from 'node-pg-migrate';

export function up(pgm: MigrationBuilder): void {
  pgm.createTable('orders', {
    order_id: { type: 'uuid', primaryKey: true },
    customer_id: { type: 'bigint', notNull: true },
    version: { type: 'integer', notNull: true },
    status: { type: 'text', notNull: true },
    currency: { type: 'text', notNull: true },
    lines: { type: 'jsonb', notNull: true },
    total: { type: 'numeric(14,2)', notNull: true },
    placed_at: { type: 'timestamptz', notNull: true },
    updated_at: { type: 'timestamptz', notNull: true },
    _kafka_partition: { type: 'integer', notNull: true },
    _kafka_offset: { type: 'bigint', notNull: true },
    _kafka_timestamp: { type: 'timestamptz', notNull: true },
    _ingested_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
  });
  pgm.addConstraint('orders', 'orders_status_check', {
    check: "status IN ('PLACED', 'PAID', 'SHIPPED', 'DELIVERED', 'CANCELLED')",
  });
  pgm.addConstraint('orders', 'orders_currency_check', { check: "currency IN ('EUR', 'USD', 'GBP', 'SEK')" });
}

export function down(pgm: MigrationBuilder): void {
  pgm.dropTable('orders');
}
