/**
 * The suite's producer: kafkajs and avsc directly, never the project's producer. It sends a seeded mix of
 * orders (v1 and v2, rising, equal and stale versions, tombstones) and page views, with hostile messages
 * at a seeded ratio, and remembers what each distinct value is expected to become. What was actually
 * produced is read back from the topics afterwards (a send that failed across a broker restart may or may
 * not have landed), so this file only has to say what a message should be, never whether it was sent.
 */
import { createHash } from 'node:crypto';
import type { Kafka, Message, Producer } from 'kafkajs';
import { avroType, decimalBytes, frame, readSchema } from './avro-codec.ts';
import type { Rng } from './rng.ts';

/** What the checker expects of a message. */
export type Expectation =
  /** A valid event: a row (insert), or applied/superseded (upsert). */
  | 'row'
  /** Can never be a row: a dead letter with the exact bytes. */
  | 'dead'
  /** A long beyond 2^53: a row with every digit, or a dead letter; never a rounded number. */
  | 'row-exact-or-dead'
  /** Null value on the upsert topic: deletes the key. */
  | 'tombstone';

export interface Expected {
  expect: Expectation;
  kind: string;
}

export interface TrafficTopics {
  orders: string;
  views: string;
  /** The suite's own insert topic with a long nested in a record (`nestedEventSchema`). */
  nested: string;
}

export interface SchemaIds {
  orderV1: number;
  orderV2: number;
  view: number;
  nested: number;
}

export interface TrafficOptions {
  rng: Rng;
  topics: TrafficTopics;
  ids: SchemaIds;
  /** Fraction of messages that are hostile. */
  hostileRatio: number;
  /** Fraction of order messages that are tombstones (0 where a replay follows: see the README's limits). */
  tombstoneRatio: number;
  /** Order keys in play. */
  orderKeys?: number;
}

const orderV1 = avroType(readSchema('shop/order.v1.avsc'));
const orderV2 = avroType(readSchema('shop/order.v2.avsc'));
export const pageViewSchema = readSchema('shop/page-view.v1.avsc');
const pageView = avroType(pageViewSchema);

/** A page-view writer schema the catalog does not list: readable by the reader (the extra field is skipped). */
export const pageViewWithCampaign = {
  ...pageViewSchema,
  doc: 'Page view with a campaign (a writer version registered while the consumer runs).',
  fields: [
    ...(pageViewSchema as { fields: object[] }).fields,
    { name: 'campaign', type: ['null', 'string'], default: null },
  ],
};
const pageViewCampaign = avroType(pageViewWithCampaign);

/**
 * No catalog schema has a long inside a record (its value goes to jsonb): the suite adds a topic of its own
 * with one, its table made by an extra migration (see scenario-context.ts).
 */
export const nestedEventSchema = {
  type: 'record',
  name: 'NestedEvent',
  namespace: 'integrity',
  fields: [
    { name: 'event_id', type: { type: 'string', logicalType: 'uuid' } },
    {
      name: 'payload',
      type: {
        type: 'record',
        name: 'Payload',
        fields: [
          { name: 'big', type: 'long' },
          { name: 'note', type: 'string' },
        ],
      },
    },
  ],
};
const nestedEvent = avroType(nestedEventSchema);

export function valueHash(value: Buffer): string {
  return createHash('sha256').update(value).digest('hex');
}

const STATUSES_V1 = ['PLACED', 'PAID', 'SHIPPED', 'DELIVERED', 'CANCELLED'];
const STATUSES_V2 = [...STATUSES_V1, 'REFUNDED'];
const CURRENCIES = ['EUR', 'USD', 'GBP', 'SEK'];
const BASE_MS = 1_767_323_045_000n;

interface OrderKey {
  id: string;
  version: number;
}

export interface Planned {
  topic: string;
  message: Message;
}

export class Traffic {
  /** sha256 of a value → what it must become. Null values are tombstones (see `expectationOf`). */
  readonly expectations = new Map<string, Expected>();
  /** Set during a scenario: page views then also use this newly registered writer schema. */
  campaignSchemaId: number | undefined;
  generated = 0;
  readonly #o: TrafficOptions;
  readonly #keys: OrderKey[] = [];
  readonly #viewKeys: string[] = [];
  #n = 0;

  constructor(options: TrafficOptions) {
    this.#o = options;
    for (let i = 0; i < (options.orderKeys ?? 150); i++)
      this.#keys.push({ id: options.rng.uuid(), version: 0 });
  }

  expectationOf(topic: string, value: Buffer | null): Expected | undefined {
    if (value === null) {
      return topic === this.#o.topics.orders
        ? { expect: 'tombstone', kind: 'tombstone' }
        : { expect: 'dead', kind: 'insert-topic tombstone' };
    }
    return this.expectations.get(valueHash(value));
  }

  next(): Planned {
    const rng = this.#o.rng;
    this.generated++;
    const planned = rng.chance(this.#o.hostileRatio)
      ? this.#hostile()
      : rng.chance(0.1)
        ? this.#nested()
        : rng.chance(0.5)
          ? this.#order()
          : this.#view(undefined);
    if (planned.message.value instanceof Buffer) {
      const existing = this.expectations.get(valueHash(planned.message.value));
      if (existing === undefined) this.expectations.set(valueHash(planned.message.value), planned.expected);
    }
    // Hostile headers on some valid messages too: they must not make a good message fail.
    if (
      planned.message.headers === undefined &&
      rng.chance(planned.expected.expect === 'dead' ? 0.5 : 0.03)
    ) {
      planned.message.headers = this.#hostileHeaders();
    }
    return { topic: planned.topic, message: planned.message };
  }

  #hostileHeaders(): Message['headers'] {
    const rng = this.#o.rng;
    return {
      'nul\u0000name': Buffer.from(`a\u0000b${rng.int(1000)}`),
      repeated: [Buffer.from('first'), Buffer.from([0xff, 0x00, 0xfe]), Buffer.from('')],
      binary: Buffer.from([0x00, 0xc3, 0x28, 0xff, rng.int(256)]),
    };
  }

  #orderRecord(key: OrderKey, version: number, v2: boolean, total: bigint): Record<string, unknown> {
    const rng = this.#o.rng;
    const placed = BASE_MS + BigInt(rng.int(1_000_000_000));
    const statuses = v2 ? STATUSES_V2 : STATUSES_V1;
    const record: Record<string, unknown> = {
      order_id: key.id,
      customer_id: BigInt(1 + rng.int(1_000_000)),
      version,
      status: statuses[rng.int(statuses.length)],
      currency: CURRENCIES[rng.int(CURRENCIES.length)],
      lines: Array.from({ length: 1 + rng.int(3) }, (_, i) => ({
        sku: `sku-${rng.int(500)}-${i}`,
        quantity: 1 + rng.int(5),
        unit_price: decimalBytes(BigInt(100 + rng.int(100_000))),
      })),
      total: decimalBytes(total),
      placed_at: placed,
      updated_at: placed + BigInt(version) * 1000n + BigInt(this.#n++),
    };
    if (v2) {
      record.coupon_code = rng.chance(0.3) ? `C${rng.int(10_000)}` : null;
      record.delivery_date = rng.chance(0.5) ? 20_000 + rng.int(500) : null;
    }
    return record;
  }

  #order(): Planned & { expected: Expected } {
    const rng = this.#o.rng;
    const key = this.#keys[rng.int(this.#keys.length)]!;
    const topic = this.#o.topics.orders;
    if (key.version > 0 && rng.chance(this.#o.tombstoneRatio)) {
      return {
        topic,
        message: { key: key.id, value: null },
        expected: { expect: 'tombstone', kind: 'tombstone' },
      };
    }
    const roll = rng.next();
    let version: number;
    let kind: string;
    if (key.version > 0 && roll < 0.08) {
      version = key.version;
      kind = 'equal version';
    } else if (key.version > 3 && roll < 0.14) {
      version = key.version - 1 - rng.int(3);
      kind = 'stale version';
    } else {
      version = ++key.version;
      kind = 'new version';
    }
    const v2 = rng.chance(0.6);
    const body = (v2 ? orderV2 : orderV1).toBuffer(
      this.#orderRecord(key, version, v2, BigInt(rng.int(10_000_000))),
    );
    return {
      topic,
      message: { key: key.id, value: frame(v2 ? this.#o.ids.orderV2 : this.#o.ids.orderV1, body) },
      expected: { expect: 'row', kind },
    };
  }

  #viewRecord(extra: Partial<Record<string, unknown>> = {}): Record<string, unknown> {
    const rng = this.#o.rng;
    const n = this.#n++;
    return {
      view_id: rng.uuid(),
      session_id: `s-${rng.int(5000)}`,
      customer_id: rng.chance(0.7) ? BigInt(rng.int(1_000_000)) : null,
      url: `https://shop.example/p/${n}`,
      referrer: rng.chance(0.3) ? 'https://search.example/' : null,
      duration_ms: rng.int(100_000),
      is_bounce: rng.chance(0.2),
      viewed_at: BASE_MS * 1000n + BigInt(n),
      attributes: rng.chance(0.5) ? { ab: `v${rng.int(3)}`, 'ü-key': 'ünïcödé ✓' } : {},
      ...extra,
    };
  }

  #view(extra: Partial<Record<string, unknown>> | undefined): Planned & { expected: Expected } {
    const record = this.#viewRecord(extra);
    const useCampaign = this.campaignSchemaId !== undefined && this.#o.rng.chance(0.5);
    const value = useCampaign
      ? frame(this.campaignSchemaId!, pageViewCampaign.toBuffer({ ...record, campaign: `spring-${this.#n}` }))
      : frame(this.#o.ids.view, pageView.toBuffer(record));
    const key = record.view_id as string;
    this.#viewKeys.push(key);
    if (this.#viewKeys.length > 2000) this.#viewKeys.shift();
    return {
      topic: this.#o.topics.views,
      message: { key, value },
      expected: { expect: 'row', kind: useCampaign ? 'new writer schema' : 'page view' },
    };
  }

  #nested(): Planned & { expected: Expected } {
    const rng = this.#o.rng;
    // A quarter beyond 2^53 either way: a row must keep every digit (or the message be a dead letter).
    const beyond = rng.chance(0.25);
    const magnitude = beyond
      ? 2n ** 53n + 1n + BigInt(rng.int(1_000_000_000)) * 2n
      : BigInt(rng.int(1_000_000));
    const big = rng.chance(0.5) ? magnitude : -magnitude;
    const eventId = rng.uuid();
    const value = frame(
      this.#o.ids.nested,
      nestedEvent.toBuffer({ event_id: eventId, payload: { big, note: `n${this.#n++}` } }),
    );
    return {
      topic: this.#o.topics.nested,
      message: { key: eventId, value },
      expected: beyond
        ? { expect: 'row-exact-or-dead', kind: 'nested long beyond 2^53' }
        : { expect: 'row', kind: 'nested long' },
    };
  }

  #hostile(): Planned & { expected: Expected } {
    const rng = this.#o.rng;
    const views = this.#o.topics.views;
    const dead = (kind: string, value: Buffer | null, key: string, topic = views) => ({
      topic,
      message: { key, value },
      expected: { expect: 'dead' as const, kind },
    });
    const kinds = [
      'non-framed short',
      'non-framed text',
      'unknown schema id',
      'truncated avro',
      'invalid utf-8',
      'nul in string',
      'long beyond 2^53',
      'insert-topic tombstone',
      'decimal beyond precision',
      'truncated order',
    ] as const;
    const kind = kinds[rng.int(kinds.length)]!;
    switch (kind) {
      case 'non-framed short':
        // A leading 0x00 without room for a schema id: never a registry lookup.
        return dead(kind, Buffer.from([0, ...rng.bytes(rng.int(4))]), rng.uuid());
      case 'non-framed text':
        // 0x00 then text: bytes 1–4 read as an id that was never issued.
        return dead(kind, Buffer.from(`\u0000{"view_id":"${rng.uuid()}","n":${rng.int(1e9)}}`), rng.uuid());
      case 'unknown schema id':
        return dead(
          kind,
          frame(2_000_000_000 + rng.int(3), pageView.toBuffer(this.#viewRecord())),
          rng.uuid(),
        );
      case 'truncated avro': {
        const body = pageView.toBuffer(this.#viewRecord());
        return dead(
          kind,
          frame(this.#o.ids.view, body.subarray(0, Math.max(1, body.length >> 1))),
          rng.uuid(),
        );
      }
      case 'invalid utf-8': {
        const marker = `~${rng.int(1e9).toString(36)}~`;
        const body = pageView.toBuffer(this.#viewRecord({ session_id: `bad${marker}` }));
        const at = body.indexOf(marker);
        Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80].slice(0, marker.length)).copy(body, at);
        return dead(kind, frame(this.#o.ids.view, body), rng.uuid());
      }
      case 'nul in string':
        return dead(
          kind,
          frame(this.#o.ids.view, pageView.toBuffer(this.#viewRecord({ url: `https://x/\u0000${this.#n}` }))),
          rng.uuid(),
        );
      case 'long beyond 2^53': {
        const big = 2n ** 53n + 1n + BigInt(rng.int(1_000_000)) * 2n;
        const record = this.#viewRecord({ customer_id: big });
        return {
          topic: views,
          message: {
            key: record.view_id as string,
            value: frame(this.#o.ids.view, pageView.toBuffer(record)),
          },
          expected: { expect: 'row-exact-or-dead', kind },
        };
      }
      case 'insert-topic tombstone': {
        // The key of a page view already sent: a tombstone must not delete that row.
        const key = this.#viewKeys.length > 0 ? this.#viewKeys[rng.int(this.#viewKeys.length)]! : rng.uuid();
        return dead(kind, null, key);
      }
      case 'decimal beyond precision': {
        // The newest version of a live key, refused by numeric(14,2): the key must keep its previous version.
        const key = this.#keys[rng.int(this.#keys.length)]!;
        const version = ++key.version;
        const body = orderV2.toBuffer(
          this.#orderRecord(key, version, true, 10n ** 16n + BigInt(rng.int(1000))),
        );
        return dead(kind, frame(this.#o.ids.orderV2, body), key.id, this.#o.topics.orders);
      }
      case 'truncated order': {
        const key = this.#keys[rng.int(this.#keys.length)]!;
        const body = orderV1.toBuffer(this.#orderRecord(key, key.version + 1, false, 100n));
        return dead(
          kind,
          frame(this.#o.ids.orderV1, body.subarray(0, body.length - 3)),
          key.id,
          this.#o.topics.orders,
        );
      }
    }
  }
}

export interface ProducerLoop {
  /** Stops sending and resolves once the last send settled. */
  stop(): Promise<void>;
  sent(): number;
  failures(): number;
}

/**
 * Sends `ratePerSecond` messages in ten ticks a second until stopped. A failed send (broker down) is
 * retried with the same messages; whether the failed attempt landed is found out by re-reading the topic.
 */
export function startProducer(kafka: Kafka, traffic: Traffic, ratePerSecond: number): ProducerLoop {
  let running = true;
  let sent = 0;
  let failures = 0;
  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const loop = (async () => {
    await connectWithRetry(producer, () => running);
    const perTick = Math.max(1, Math.round(ratePerSecond / 10));
    while (running) {
      const started = Date.now();
      const batch = Array.from({ length: perTick }, () => traffic.next());
      const byTopic = new Map<string, Message[]>();
      for (const { topic, message } of batch) byTopic.set(topic, [...(byTopic.get(topic) ?? []), message]);
      const topicMessages = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
      for (;;) {
        try {
          await producer.sendBatch({ topicMessages, acks: -1, timeout: 5000 });
          sent += batch.length;
          break;
        } catch {
          failures++;
          if (!running) break;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
      const wait = 100 - (Date.now() - started);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    await producer.disconnect().catch(() => undefined);
  })();
  return {
    async stop() {
      running = false;
      await loop;
    },
    sent: () => sent,
    failures: () => failures,
  };
}

async function connectWithRetry(producer: Producer, keepTrying: () => boolean): Promise<void> {
  for (;;) {
    try {
      await producer.connect();
      return;
    } catch (error) {
      if (!keepTrying()) throw error;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
