/**
 * What the sink's integration tests share: a freshly migrated PostgreSQL schema per test, and messages as
 * the consumer hands them to writePartitionBatch (values decoded by avsc, raw bytes in the wire format, and
 * the fast path's row where it takes the body, as the decoder's default).
 */

import { randomUUID } from 'node:crypto';
import type { ExecutionContext } from 'ava';
import type pg from 'pg';
import type { DatabaseSettings } from '../../src/config.ts';
import { type CatalogEntry, entryFor, loadCatalog } from '../../src/contracts/catalog.ts';
import type { PoisonMessageError } from '../../src/errors.ts';
import type { CopyFormat } from '../../src/sink/copy-buffer.ts';
import { createPool } from '../../src/sink/database.ts';
import { type MessageHeader, textHeaders } from '../../src/sink/message-headers.ts';
import { migrateUp } from '../../src/sink/migrations.ts';
import type { SinkMessage } from '../../src/sink/partition-writer.ts';
import { compileTranscoder, type RowTranscoder } from '../../src/sink/row-transcoder.ts';
import { quoteIdentifier } from '../../src/sink/sql-identifier.ts';
import { config, databasePool, uniqueName } from './services.ts';

export const catalog = loadCatalog(config.schemasDir);
export const orders = entryFor(catalog, 'shop.orders');
export const pageViews = entryFor(catalog, 'shop.page-views');
export const shipments = entryFor(catalog, 'shop.shipments');

export interface MigratedSchema {
  schema: string;
  settings: DatabaseSettings;
  /** search_path = the test's schema. */
  pool: pg.Pool;
}

/** A new schema with every migration applied, dropped when the test ends. */
export async function migratedSchema(t: ExecutionContext, prefix = 'sink'): Promise<MigratedSchema> {
  const schema = uniqueName(prefix);
  const settings = { ...config.database, schema };
  let pool: pg.Pool | undefined;
  t.teardown(async () => {
    await pool?.end();
    const admin = databasePool();
    await admin.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(schema)} CASCADE`);
    await admin.end();
  });
  await migrateUp(settings, { migrationsDir: config.migrationsDir });
  pool = createPool(settings, { max: 4, log: t.log });
  return { schema, settings, pool };
}

const SCHEMA_ID = 41;

/** Confluent wire format around the Avro body: the raw bytes Kafka would hold. */
function wireBytes(entry: CatalogEntry, value: Record<string, unknown>): Buffer {
  const header = Buffer.alloc(5);
  header.writeInt32BE(SCHEMA_ID, 1);
  return Buffer.concat([header, entry.reader.type.toBuffer(value)]);
}

export interface MessageOptions {
  partition?: number;
  /** Default: 2026-01-01T00:00:00.000Z plus the offset in ms. */
  timestamp?: string;
  headers?: readonly MessageHeader[];
  /** Skip avsc: hand the value over as given (a value avsc would refuse, to make PostgreSQL refuse it). */
  raw?: boolean;
  /**
   * Default true, as the consumer's decoder: the row as the fast path makes it (COPY bytes) when it takes
   * the body; false: the reference path's decoded value only.
   */
  fastPath?: boolean;
  /** The fast path's COPY format, which must be the write's for the bytes to be used. Default binary. */
  copyFormat?: CopyFormat;
}

const transcoders = new WeakMap<CatalogEntry, RowTranscoder | undefined>();

/** What MessageDecoder.decodeBatch adds to a row outcome on the fast path (the writer is the reader). */
function fastOutcome(entry: CatalogEntry, bytes: Buffer, copyFormat: CopyFormat) {
  if (!transcoders.has(entry)) transcoders.set(entry, compileTranscoder(entry, entry.reader.type));
  const transcoder = transcoders.get(entry);
  if (transcoder === undefined) return {};
  const copy =
    copyFormat === 'binary' ? transcoder.transcodeBinary(bytes, 5) : transcoder.transcodeCopy(bytes, 5);
  return copy === undefined ? {} : { copy, copyFormat, version: transcoder.version };
}

/** A row message; the value goes through avsc both ways, as the consumer's decoder would produce it. */
export function rowMessage(
  entry: CatalogEntry,
  offset: number,
  value: Record<string, unknown>,
  options: MessageOptions = {},
): SinkMessage {
  const bytes = options.raw ? Buffer.from(`raw-${offset}-${randomUUID()}`) : wireBytes(entry, value);
  const decoded = options.raw
    ? value
    : (entry.reader.type.fromBuffer(bytes.subarray(5)) as Record<string, unknown>);
  return {
    topic: entry.topic,
    partition: options.partition ?? 0,
    offset: String(offset),
    timestamp: options.timestamp ?? String(Date.UTC(2026, 0, 1) + offset),
    key: Buffer.from(String(value[entry.key])),
    value: bytes,
    headers: options.headers ?? textHeaders([['trace-id', `t-${offset}`]]),
    outcome: {
      kind: 'row',
      value: decoded,
      schemaId: SCHEMA_ID,
      ...(options.raw || options.fastPath === false
        ? {}
        : fastOutcome(entry, bytes, options.copyFormat ?? 'binary')),
    },
  };
}

export function tombstoneMessage(
  entry: CatalogEntry,
  offset: number,
  key: string,
  partition = 0,
): SinkMessage {
  return {
    topic: entry.topic,
    partition,
    offset: String(offset),
    timestamp: String(Date.UTC(2026, 0, 1) + offset),
    key: Buffer.from(key),
    value: null,
    headers: [],
    outcome: { kind: 'tombstone' },
  };
}

export function poisonMessage(
  entry: CatalogEntry,
  offset: number,
  bytes: Buffer,
  error: PoisonMessageError,
  partition = 0,
): SinkMessage {
  return {
    topic: entry.topic,
    partition,
    offset: String(offset),
    timestamp: String(Date.UTC(2026, 0, 1) + offset),
    key: null,
    value: bytes,
    headers: textHeaders([['source', 'test']]),
    outcome: { kind: 'poison', error, schemaId: 999 },
  };
}

export function order(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    order_id: randomUUID(),
    customer_id: 9_007_199_254_740_000,
    version: 1,
    status: 'PLACED',
    currency: 'EUR',
    lines: [
      { sku: 'SKU-1', quantity: 2, unit_price: '19.99' },
      { sku: 'tab\tquote"', quantity: 1, unit_price: '9999999999.99' },
    ],
    total: '123456789012.34',
    placed_at: new Date('2026-01-02T03:04:05.678Z'),
    updated_at: new Date('1969-07-20T20:17:40.001Z'),
    coupon_code: null,
    delivery_date: null,
    ...overrides,
  };
}

export function pageView(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    view_id: randomUUID(),
    session_id: 's-1',
    customer_id: null,
    url: 'https://example.com/a?b=c',
    referrer: null,
    duration_ms: 1234,
    is_bounce: false,
    viewed_at: 1_767_225_600_123_456n,
    attributes: {},
    ...overrides,
  };
}

export function shipment(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    shipment_id: randomUUID(),
    order_id: randomUUID(),
    carrier: 'postnord',
    weight_kg: 12.34,
    distance_km: 1234.5678901234567,
    label: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x5c, 0x0a, 0xff]),
    label_sha256: Buffer.alloc(32, 0xab),
    pickup_from: '08:00:00.000',
    pickup_until: '17:30:59.999999',
    promised_local: '2026-03-29T02:30:00.000',
    handed_over_local: null,
    destination: {
      'shop.HomeAddress': { street: 'Storgatan 1', postal_code: '111 22', city: 'Stockholm', country: 'SE' },
    },
    parcel: {
      dimensions: { length_cm: 30.5, width_cm: 20.1, height_cm: 10 },
      packaging: {
        material: 'CARDBOARD',
        insert: { kind: 'air cushions', protection: { fragile: false, max_stack: 3, sensor: null } },
      },
    },
    ...overrides,
  };
}
