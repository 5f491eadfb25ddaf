/**
 * The independent checker: re-reads every topic from the beginning with a fresh kafkajs consumer, decodes
 * with its own avsc types, and compares with what PostgreSQL holds, queried directly. It never looks at the
 * project's counters or offsets table.
 */
import type { IHeaders, Kafka } from 'kafkajs';
import type pg from 'pg';
import { avroType, readSchema } from './avro-codec.ts';
import {
  type Expected,
  nestedEventSchema,
  pageViewWithCampaign,
  type Traffic,
  type TrafficTopics,
} from './traffic.ts';

export interface TopicRecord {
  partition: number;
  offset: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers: Array<[string, Buffer]>;
}

export interface CheckResult {
  produced: number;
  rows: number;
  deadLetters: number;
  lost: number;
  duplicated: number;
  /** Every violation, grouped: "kind: count (first example)". */
  failures: string[];
}

function flattenHeaders(headers: IHeaders | undefined): Array<[string, Buffer]> {
  const list: Array<[string, Buffer]> = [];
  for (const [name, raw] of Object.entries(headers ?? {})) {
    for (const value of Array.isArray(raw) ? raw : [raw]) {
      if (value !== undefined) list.push([name, Buffer.isBuffer(value) ? value : Buffer.from(value)]);
    }
  }
  return list;
}

/** Every message of the topic, from the low to the high watermark of each partition. */
export async function readTopic(kafka: Kafka, topic: string, timeoutMs = 60_000): Promise<TopicRecord[]> {
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const remaining = new Map<number, bigint>();
  for (const o of offsets)
    if (BigInt(o.high) > BigInt(o.low)) remaining.set(o.partition, BigInt(o.high) - 1n);
  const records: TopicRecord[] = [];
  if (remaining.size === 0) return records;
  const consumer = kafka.consumer({
    groupId: `integrity-checker-${topic}-${Date.now()}-${Math.random().toString(36).slice(2)}`,
    maxBytesPerPartition: 4 * 1024 * 1024,
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const done = new Promise<void>((resolve) => {
    void consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const last = remaining.get(batch.partition);
        for (const m of batch.messages) {
          const offset = BigInt(m.offset);
          if (last === undefined || offset > last) continue;
          records.push({
            partition: batch.partition,
            offset,
            key: m.key,
            value: m.value,
            headers: flattenHeaders(m.headers),
          });
          if (offset === last) remaining.delete(batch.partition);
        }
        if (remaining.size === 0) resolve();
      },
    });
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`re-reading ${topic} timed out`)), timeoutMs);
  });
  try {
    await Promise.race([done, timeout]);
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
  return records;
}

/** Stored headers match the message's when every (name, bytes) pair is there exactly once more or less. */
function storedHeaderValueMatches(stored: unknown, bytes: Buffer): boolean {
  if (typeof stored === 'string') {
    if (Buffer.from(stored, 'utf8').equals(bytes)) return true;
    if (/^\\x[0-9a-f]*$/i.test(stored) && Buffer.from(stored.slice(2), 'hex').equals(bytes)) return true;
    const b64 = Buffer.from(stored, 'base64');
    return b64.toString('base64') === stored && b64.equals(bytes);
  }
  if (stored !== null && typeof stored === 'object' && 'data' in stored && Array.isArray(stored.data)) {
    return Buffer.from(stored.data as number[]).equals(bytes);
  }
  return false;
}

/**
 * The stored headers as (name, value) pairs, whatever the representation: an object of name → value(s), or
 * a list of [name, value] pairs or {key|name, value} objects. Values are compared by bytes.
 */
function storedHeaderPairs(stored: unknown): Array<[string, unknown]> {
  if (Array.isArray(stored)) {
    return stored.map((entry) => {
      if (Array.isArray(entry)) return [String(entry[0]), entry[1]] as [string, unknown];
      const e = entry as { key?: string; name?: string; value?: unknown };
      return [String(e.key ?? e.name), e.value] as [string, unknown];
    });
  }
  const pairs: Array<[string, unknown]> = [];
  for (const [name, value] of Object.entries((stored ?? {}) as Record<string, unknown>)) {
    if (Array.isArray(value)) for (const v of value) pairs.push([name, v]);
    else pairs.push([name, value]);
  }
  return pairs;
}

export function headersMatch(stored: unknown, produced: Array<[string, Buffer]>): boolean {
  const left = storedHeaderPairs(stored);
  if (left.length !== produced.length) return false;
  const used = new Set<number>();
  for (const [name, bytes] of produced) {
    const at = left.findIndex(
      (pair, i) => !used.has(i) && pair[0] === name && storedHeaderValueMatches(pair[1], bytes),
    );
    if (at < 0) return false;
    used.add(at);
  }
  return true;
}

class Violations {
  readonly #byKind = new Map<string, { count: number; example: string }>();
  add(kind: string, example: string): void {
    const entry = this.#byKind.get(kind);
    if (entry) entry.count++;
    else this.#byKind.set(kind, { count: 1, example });
  }
  list(): string[] {
    return [...this.#byKind].map(([kind, { count, example }]) => `${kind}: ${count} (e.g. ${example})`);
  }
}

interface DeadLetterRow {
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: unknown;
  error_class: string;
}

const orderTypes = new Map<string, ReturnType<typeof avroType>>([
  ['v1', avroType(readSchema('shop/order.v1.avsc'))],
  ['v2', avroType(readSchema('shop/order.v2.avsc'))],
]);
const viewTypes = [avroType(readSchema('shop/page-view.v1.avsc')), avroType(pageViewWithCampaign)];
const nestedType = avroType(nestedEventSchema);

function decodeWith(
  types: Iterable<ReturnType<typeof avroType>>,
  value: Buffer,
): Record<string, unknown> | undefined {
  for (const type of types) {
    try {
      return type.fromBuffer(value.subarray(5)) as Record<string, unknown>;
    } catch {
      // the other version
    }
  }
  return undefined;
}

export interface CheckOptions {
  kafka: Kafka;
  pool: pg.Pool;
  schema: string;
  groupId: string;
  traffic: Traffic;
  topics: TrafficTopics;
  /** Orders this predicate matches are refused by a constraint: expected dead letters. */
  refused?: (customerId: bigint) => boolean;
}

const po = (p: number, o: bigint | string) => `${p}:${o}`;

function checkDeadLetterBytes(
  v: Violations,
  topic: string,
  record: TopicRecord,
  letter: DeadLetterRow,
): void {
  const where = `${topic} ${po(record.partition, record.offset)}`;
  const same = (a: Buffer | null, b: Buffer | null) => (a === null ? b === null : b !== null && a.equals(b));
  if (!same(record.key, letter.key)) v.add('dead letter key differs from the message', where);
  if (!same(record.value, letter.value)) v.add('dead letter value differs from the message', where);
  if (!headersMatch(letter.headers, record.headers)) {
    v.add(
      'dead letter headers differ from the message',
      `${where}: stored ${JSON.stringify(letter.headers).slice(0, 160)}`,
    );
  }
}

export async function check(options: CheckOptions): Promise<CheckResult> {
  const { kafka, pool, schema, traffic, topics } = options;
  const q = (name: string) => `"${schema}"."${name}"`;
  const v = new Violations();
  let lost = 0;
  let duplicated = 0;

  const letters = await pool.query<DeadLetterRow & { topic: string }>(
    // Headers are two parallel bytea arrays (keys, values): paired as [name, value] in base64 (a key may hold
    // a NUL, which PostgreSQL text cannot), the names decoded below.
    `SELECT topic, partition, "offset"::text AS "offset", key, value, error_class,
            (SELECT coalesce(json_agg(json_build_array(encode(k, 'base64'), encode(v, 'base64')) ORDER BY n), '[]')
               FROM unnest(header_keys, header_values) WITH ORDINALITY AS h(k, v, n)) AS headers
       FROM ${q('dead_letters')} WHERE consumer_group = $1`,
    [options.groupId],
  );
  const lettersAt = new Map<string, DeadLetterRow[]>();
  for (const l of letters.rows) {
    l.headers = (l.headers as Array<[string, string | null]>).map(([name, value]) => [
      Buffer.from(name, 'base64').toString('utf8'),
      value,
    ]);
    const k = `${l.topic}|${po(l.partition, l.offset)}`;
    lettersAt.set(k, [...(lettersAt.get(k) ?? []), l]);
  }
  const seenLetters = new Set<string>();
  const expectationOf = (topic: string, r: TopicRecord): Expected => {
    const e = traffic.expectationOf(topic, r.value);
    if (e === undefined) {
      v.add('message in the topic the producer never generated', `${topic} ${po(r.partition, r.offset)}`);
      return { expect: 'row', kind: 'unknown' };
    }
    return e;
  };

  // ---- insert topics: every offset exactly one row or one dead letter.
  /** A row of an insert table: its position, the key column and the one value column compared. */
  interface InsertRow {
    p: number;
    o: string;
    id: string;
    value: string | null;
  }
  const checkInsertTopic = async (
    topic: string,
    sql: string,
    types: Array<ReturnType<typeof avroType>>,
    /** The message's key column and compared value, as PostgreSQL prints them. */
    expectedOf: (decoded: Record<string, unknown>) => { id: string; value: string | null },
  ) => {
    const records = await readTopic(kafka, topic);
    const found = await pool.query<InsertRow>(sql);
    const rowsAt = new Map<string, InsertRow[]>();
    for (const r of found.rows) rowsAt.set(po(r.p, r.o), [...(rowsAt.get(po(r.p, r.o)) ?? []), r]);
    const produced = new Set<string>();
    for (const record of records) {
      const at = po(record.partition, record.offset);
      produced.add(at);
      const rows = rowsAt.get(at) ?? [];
      const dead = lettersAt.get(`${topic}|${at}`) ?? [];
      seenLetters.add(`${topic}|${at}`);
      const exp = expectationOf(topic, record);
      const where = `${topic} ${at} (${exp.kind})`;
      if (rows.length + dead.length === 0) {
        lost++;
        // Told apart for the reader: a row that a tombstone of its key may have deleted.
        const key = record.key?.toString('utf8');
        const tombstoned = records.some(
          (r) => r.value === null && r.key?.toString('utf8') === key && r !== record,
        );
        v.add(
          `lost: neither row nor dead letter [${exp.kind}]${tombstoned ? ' (a tombstone of its key came on this insert topic)' : ''}`,
          where,
        );
        continue;
      }
      if (rows.length + dead.length > 1) {
        duplicated += rows.length + dead.length - 1;
        v.add('duplicated: more than one row or dead letter for one offset', where);
      }
      if (exp.expect === 'dead' && rows.length > 0)
        v.add(`hostile message stored as a row [${exp.kind}]`, where);
      if (exp.expect === 'row' && dead.length > 0)
        v.add(`valid message dead-lettered [${exp.kind}] as ${dead[0]!.error_class}`, where);
      for (const letter of dead) checkDeadLetterBytes(v, topic, record, letter);
      if (rows.length > 0 && record.value !== null && exp.expect !== 'dead') {
        const decoded = decodeWith(types, record.value);
        const row = rows[0]!;
        if (decoded === undefined) v.add('checker cannot decode a message stored as a row', where);
        else {
          const expected = expectedOf(decoded);
          if (row.id !== expected.id) v.add('row holds another message', where);
          else if (row.value !== expected.value)
            v.add(
              `row value differs from the message [${exp.kind}]`,
              `${where}: ${row.value} ≠ ${expected.value}`,
            );
        }
      }
    }
    for (const at of rowsAt.keys()) {
      if (!produced.has(at)) {
        duplicated++;
        v.add('row for an offset never produced', `${topic} ${at}`);
      }
    }
    return { produced: records.length, rows: found.rows.length };
  };
  const meta = '_kafka_partition AS p, _kafka_offset::text AS o';
  const views = await checkInsertTopic(
    topics.views,
    `SELECT ${meta}, view_id::text AS id, customer_id::text AS value FROM ${q('page_views')}`,
    viewTypes,
    (d) => ({ id: d.view_id as string, value: d.customer_id === null ? null : String(d.customer_id) }),
  );
  // The nested long: jsonb keeps a number's digits; its text must be the exact value.
  const nested = await checkInsertTopic(
    topics.nested,
    `SELECT ${meta}, event_id::text AS id, (payload->'big')::text AS value FROM ${q('nested_events')}`,
    [nestedType],
    (d) => ({ id: d.event_id as string, value: String((d.payload as { big: bigint }).big) }),
  );

  // ---- upsert topic: each key at its newest accepted version; each message applied, superseded or dead.
  const orders = await readTopic(kafka, topics.orders);
  const orderRows = await pool.query<{ order_id: string; version: number; p: number; o: string }>(
    `SELECT order_id::text, version, _kafka_partition AS p, _kafka_offset::text AS o FROM ${q('orders')}`,
  );
  const rowByKey = new Map(orderRows.rows.map((r) => [r.order_id, r]));
  const byKey = new Map<string, TopicRecord[]>();
  for (const record of orders) {
    const key = record.key?.toString('utf8') ?? '';
    byKey.set(key, [...(byKey.get(key) ?? []), record]);
  }
  for (const [key, records] of byKey) {
    records.sort((a, b) => a.partition - b.partition || (a.offset < b.offset ? -1 : 1));
    let model: { record: TopicRecord; version: number } | undefined;
    let lastKind = '';
    const refusedUnwritten: Array<{
      record: TopicRecord;
      version: number;
      where: string;
      kind: string;
      /** The table already held a higher version of the key (since its last tombstone): never attempted. */
      outranked: boolean;
    }> = [];
    /** Accepted messages and tombstones, in offset order: what can supersede a refused one. */
    const later: Array<{ offset: bigint; version: number | 'tombstone' }> = [];
    for (const record of records) {
      const at = po(record.partition, record.offset);
      const exp = expectationOf(topics.orders, record);
      const dead = lettersAt.get(`${topics.orders}|${at}`) ?? [];
      seenLetters.add(`${topics.orders}|${at}`);
      const where = `${topics.orders} ${at} key ${key} (${exp.kind})`;
      for (const letter of dead) checkDeadLetterBytes(v, topics.orders, record, letter);
      if (dead.length > 1) {
        duplicated += dead.length - 1;
        v.add('duplicated: several dead letters for one offset', where);
      }
      if (exp.expect === 'tombstone') {
        if (dead.length > 0) v.add('tombstone dead-lettered', where);
        model = undefined;
        lastKind = 'tombstone';
        later.push({ offset: record.offset, version: 'tombstone' });
        continue;
      }
      const decoded = record.value === null ? undefined : decodeWith(orderTypes.values(), record.value);
      const refused =
        exp.expect === 'row' &&
        decoded !== undefined &&
        options.refused?.(decoded.customer_id as bigint) === true;
      const expectDead = exp.expect === 'dead' || refused;
      const kind = refused ? 'refused by constraint' : exp.kind;
      if (expectDead && dead.length === 0) {
        // Only PostgreSQL can refuse these (numeric overflow, a CHECK): a later version of the key in the same
        // batch supersedes them before they are written, and so does a higher version already in the table
        // (the upsert's rank guard never writes a stale version, so PostgreSQL never checks it); then no dead
        // letter is due. Decided below.
        if (decoded !== undefined && (refused || exp.kind === 'decimal beyond precision')) {
          const version = decoded.version as number;
          const outranked = model !== undefined && model.version > version;
          refusedUnwritten.push({ record, version, where, kind, outranked });
        } else {
          lost++;
          v.add(`lost: expected dead letter missing [${kind}]`, where);
        }
      }
      if (!expectDead && dead.length > 0)
        v.add(`valid message dead-lettered [${kind}] as ${dead[0]!.error_class}`, where);
      if (expectDead) continue;
      if (decoded === undefined) {
        v.add('checker cannot decode a valid order', where);
        continue;
      }
      const version = decoded.version as number;
      later.push({ offset: record.offset, version });
      if (
        model === undefined ||
        version > model.version ||
        (version === model.version && record.offset > model.record.offset)
      ) {
        model = { record, version };
        lastKind = exp.kind;
      }
    }
    for (const refusal of refusedUnwritten) {
      const superseded =
        refusal.outranked ||
        later.some(
          (l) =>
            l.offset > refusal.record.offset && (l.version === 'tombstone' || l.version >= refusal.version),
        );
      if (!superseded) {
        lost++;
        v.add(`lost: expected dead letter missing [${refusal.kind}]`, refusal.where);
      }
    }
    const row = rowByKey.get(key);
    rowByKey.delete(key);
    if (model === undefined) {
      if (row !== undefined) {
        duplicated++;
        v.add(
          `row present where the newest accepted state is none (after ${lastKind || 'dead letters only'})`,
          `key ${key} row v${row.version} at ${po(row.p, row.o)}`,
        );
      }
      continue;
    }
    // The key's last messages, for a reader mapping a failure to its cause.
    const history = records
      .slice(-6)
      .map((r) => {
        const e = traffic.expectationOf(topics.orders, r.value);
        const d = r.value === null ? undefined : decodeWith(orderTypes.values(), r.value);
        const dead = lettersAt.has(`${topics.orders}|${po(r.partition, r.offset)}`) ? ' dead' : '';
        return `@${r.offset}${d ? ` v${d.version}` : ''} ${e?.kind ?? '?'}${dead}`;
      })
      .join(', ');
    const expected = `v${model.version} at ${po(model.record.partition, model.record.offset)} (last messages: ${history})`;
    if (row === undefined) {
      lost++;
      v.add('lost: key missing, expected its newest accepted version', `key ${key} expected ${expected}`);
    } else if (row.p !== model.record.partition || row.o !== String(model.record.offset)) {
      lost++;
      v.add(
        'key not at its newest accepted version',
        `key ${key} row v${row.version} at ${po(row.p, row.o)}, expected ${expected}`,
      );
    }
  }
  for (const [key, row] of rowByKey) {
    duplicated++;
    v.add('row for a key never produced', `key ${key} at ${po(row.p, row.o)}`);
  }
  for (const l of letters.rows) {
    if (!seenLetters.has(`${l.topic}|${po(l.partition, l.offset)}`)) {
      duplicated++;
      v.add('dead letter for an offset never produced', `${l.topic} ${po(l.partition, l.offset)}`);
    }
  }

  return {
    produced: views.produced + nested.produced + orders.length,
    rows: views.rows + nested.rows + orderRows.rows.length,
    deadLetters: letters.rows.length,
    lost,
    duplicated,
    failures: v.list(),
  };
}
