/**
 * shop.orders reader schema v2 (schemas/shop/order.v2.avsc): optional coupon_code and delivery_date, and
 * the REFUNDED status. The new columns are nullable: rows of v1 events have neither.
 */
import type { MigrationBuilder } from 'node-pg-migrate';

const V1_STATUSES = "'PLACED', 'PAID', 'SHIPPED', 'DELIVERED', 'CANCELLED'";

export function up(pgm: MigrationBuilder): void {
  pgm.addColumns('orders', {
    coupon_code: { type: 'text' },
    delivery_date: { type: 'date' },
  });
  pgm.dropConstraint('orders', 'orders_status_check');
  pgm.addConstraint('orders', 'orders_status_check', { check: `status IN (${V1_STATUSES}, 'REFUNDED')` });
}

export function down(pgm: MigrationBuilder): void {
  // Fails while REFUNDED orders exist: a down migration must not silently rewrite data.
  pgm.dropConstraint('orders', 'orders_status_check');
  pgm.addConstraint('orders', 'orders_status_check', { check: `status IN (${V1_STATUSES})` });
  pgm.dropColumns('orders', ['coupon_code', 'delivery_date']);
}
