/**
 * What one scenario gets: its own topics, registry subjects, PostgreSQL schema and consumer group on the
 * private stack, a producer, the members, waits with deadlines, and the checker at the end.
 */
import { spawn } from 'node:child_process';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { type Kafka, Kafka as KafkaClient, logLevel } from 'kafkajs';
import pg from 'pg';
import { projectRoot } from '../../src/config.ts';
import { uniqueCatalog } from '../support/unique-catalog.ts';
import { readSchema, registerSchema } from './avro-codec.ts';
import { type CheckResult, check } from './checker.ts';
import { Members } from './members.ts';
import type { PrivateStack } from './private-stack.ts';
import type { Rng } from './rng.ts';
import {
  nestedEventSchema,
  type ProducerLoop,
  startProducer,
  Traffic,
  type TrafficTopics,
} from './traffic.ts';

export interface ResultRow extends CheckResult {
  scenario: string;
  seed: number;
  timeMs: number;
}

export interface TrafficSettings {
  hostileRatio: number;
  tombstoneRatio: number;
}

let scenarioCounter = 0;

const NESTED_TOPIC = 'integrity.nested-events';
const MIGRATIONS = 'migrations';
/** The nested topic's table, as the mapping of src/sink/column-types.ts wants it (record → jsonb). */
const NESTED_MIGRATION = `export function up(pgm) {
  pgm.createTable('nested_events', {
    event_id: { type: 'uuid', notNull: true },
    payload: { type: 'jsonb', notNull: true },
    _kafka_partition: { type: 'integer', notNull: true },
    _kafka_offset: { type: 'bigint', notNull: true },
    _kafka_timestamp: { type: 'timestamptz', notNull: true },
    _ingested_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
  }, { constraints: { primaryKey: ['_kafka_partition', '_kafka_offset'] } });
}
export function down(pgm) {
  pgm.dropTable('nested_events');
}
`;

export function makeKafka(brokers: string, clientId: string): Kafka {
  return new KafkaClient({
    clientId,
    brokers: [brokers],
    logLevel: logLevel.NOTHING,
    retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 2000 },
  });
}

export class ScenarioContext {
  readonly failures: string[] = [];
  readonly rows: ResultRow[] = [];
  readonly id: string;
  readonly groupId: string;
  readonly kafka: Kafka;
  readonly pool: pg.Pool;
  readonly topics: TrafficTopics;
  readonly members: Members;
  readonly traffic: Traffic;
  readonly env: NodeJS.ProcessEnv;
  readonly #catalog: ReturnType<typeof uniqueCatalog>;
  readonly #started = Date.now();
  #producer: ProducerLoop | undefined;

  private constructor(
    readonly name: string,
    readonly seed: number,
    readonly rng: Rng,
    readonly stack: PrivateStack,
    readonly log: (line: string) => void,
    traffic: TrafficSettings,
    ids: { orderV1: number; orderV2: number; view: number; nested: number },
    catalog: ReturnType<typeof uniqueCatalog>,
    id: string,
    kafka: Kafka,
  ) {
    this.id = id;
    this.#catalog = catalog;
    this.kafka = kafka;
    this.groupId = `${id}_group`;
    this.topics = {
      orders: catalog.topic('shop.orders'),
      views: catalog.topic('shop.page-views'),
      nested: catalog.topic(NESTED_TOPIC),
    };
    this.pool = new pg.Pool({ connectionString: stack.databaseUrl, max: 4 });
    // PostgreSQL is killed on purpose: an idle client's broken connection must not crash the runner.
    this.pool.on('error', () => undefined);
    this.traffic = new Traffic({ rng: rng.fork('traffic'), topics: this.topics, ids, ...traffic });
    this.env = {
      ...process.env,
      KAFKA_BROKERS: stack.kafkaBrokers,
      SCHEMA_REGISTRY_URL: stack.registryUrl,
      DATABASE_URL: stack.databaseUrl,
      DATABASE_SCHEMA: id,
      PIPELINE_SCHEMAS_DIR: catalog.dir,
      PIPELINE_MIGRATIONS_DIR: join(catalog.dir, MIGRATIONS),
      CONSUMER_GROUP_ID: this.groupId,
      // Small transactions, so that faults land between many commits.
      CONSUMER_BATCH_MAX_ROWS: '200',
      CONSUMER_BATCH_MAX_WAIT_MS: '50',
      KAFKAJS_NO_PARTITIONER_WARNING: '1',
    };
    this.members = new Members(this.env);
  }

  static async create(
    name: string,
    seed: number,
    rng: Rng,
    stack: PrivateStack,
    log: (line: string) => void,
    traffic: TrafficSettings,
  ): Promise<ScenarioContext> {
    const id = `ig_${name.replace(/[^a-z0-9]/g, '_')}_${Date.now().toString(36)}_${++scenarioCounter}`;
    const catalog = uniqueCatalog(id, {
      files: { 'nested-event.v1.avsc': nestedEventSchema },
      // The suite's own traffic: orders, page views and its nested topic (the other example topics would
      // need registering and producing for the start-up gate, and add nothing the checker looks at).
      edit: (entries) => {
        const kept = entries.filter((e) => e.topic === 'shop.orders' || e.topic === 'shop.page-views');
        entries.splice(0, entries.length, ...kept, {
          topic: NESTED_TOPIC,
          schemas: ['nested-event.v1.avsc'],
          table: 'nested_events',
          key: 'event_id',
          writeMode: 'insert',
          partitions: 3,
        });
      },
    });
    // The project's migrations and one more for the nested topic's table, next to the catalog copy.
    cpSync(join(projectRoot, 'migrations'), join(catalog.dir, MIGRATIONS), { recursive: true });
    writeFileSync(
      join(catalog.dir, MIGRATIONS, '29990101000000000_integrity-nested-events.ts'),
      NESTED_MIGRATION,
    );
    const kafka = makeKafka(stack.kafkaBrokers, id);
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [
          catalog.topic('shop.orders'),
          catalog.topic('shop.page-views'),
          catalog.topic(NESTED_TOPIC),
        ].map((topic) => ({
          topic,
          numPartitions: 3,
          replicationFactor: 1,
        })),
      });
    } finally {
      await admin.disconnect();
    }
    const orders = `${catalog.topic('shop.orders')}-value`;
    const ids = {
      orderV1: await registerSchema(stack.registryUrl, orders, readSchema('shop/order.v1.avsc')),
      orderV2: await registerSchema(stack.registryUrl, orders, readSchema('shop/order.v2.avsc')),
      view: await registerSchema(
        stack.registryUrl,
        `${catalog.topic('shop.page-views')}-value`,
        readSchema('shop/page-view.v1.avsc'),
      ),
      nested: await registerSchema(
        stack.registryUrl,
        `${catalog.topic(NESTED_TOPIC)}-value`,
        nestedEventSchema,
      ),
    };
    const context = new ScenarioContext(name, seed, rng, stack, log, traffic, ids, catalog, id, kafka);
    const migrate = await context.cli(['migrate', 'up'], 120_000);
    if (migrate.code !== 0) throw new Error(`migrate up failed (${migrate.code}): ${migrate.output}`);
    return context;
  }

  fail(message: string): void {
    this.log(`  ✗ ${message}`);
    this.failures.push(message);
  }

  q(table: string): string {
    return `"${this.id}"."${table}"`;
  }

  /** Runs `pipeline <args>` to its end with this scenario's environment. */
  cli(args: string[], timeoutMs: number): Promise<{ code: number | string; output: string }> {
    const child = spawn(process.execPath, [join(projectRoot, 'bin', 'pipeline.js'), ...args], {
      env: this.env,
      cwd: projectRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    return new Promise((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        resolve({ code: (code ?? signal) as number | string, output });
      });
    });
  }

  startProducer(ratePerSecond: number): void {
    this.#producer = startProducer(this.kafka, this.traffic, ratePerSecond);
  }

  async stopProducer(): Promise<void> {
    await this.#producer?.stop();
    this.log(
      `  producer: ${this.#producer?.sent() ?? 0} sent, ${this.#producer?.failures() ?? 0} failed sends retried`,
    );
    this.#producer = undefined;
  }

  /** Sum of the group's stored next offsets; undefined while PostgreSQL does not answer. */
  async progress(): Promise<bigint | undefined> {
    try {
      const { rows } = await this.pool.query<{ n: string | null }>(
        `SELECT sum(next_offset)::text AS n FROM ${this.q('pipeline_offsets')} WHERE consumer_group = $1`,
        [this.groupId],
      );
      return BigInt(rows[0]?.n ?? '0');
    } catch {
      return undefined;
    }
  }

  /** Waits until the group wrote something after `since`; false at the deadline. */
  async waitProgress(since: bigint | undefined, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const now = await this.progress();
      if (now !== undefined && now > (since ?? 0n)) return true;
      await delay(100);
    }
    return false;
  }

  async expectProgress(what: string, timeoutMs = 60_000): Promise<boolean> {
    const ok = await this.waitProgress(await this.progress(), timeoutMs);
    if (!ok) this.fail(`no row written within ${timeoutMs / 1000} s ${what}`);
    return ok;
  }

  /** Until every produced message is behind the group's stored offsets. */
  async waitDrained(timeoutMs = 150_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let replacements = 0;
    let lastReplacement = 0;
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      while (Date.now() < deadline) {
        // Members that exited on their own are failures already; one more lets the data still be checked.
        if (this.members.running().length === 0 && replacements === 3) {
          this.fail('every member exited on its own, replacements included: the group cannot catch up');
          return false;
        }
        if (
          this.members.running().length === 0 &&
          replacements < 3 &&
          Date.now() - lastReplacement > 10_000
        ) {
          replacements++;
          lastReplacement = Date.now();
          const replacement = this.members.spawn();
          this.log(`  no member left: ${replacement.name} started to catch up`);
        }
        const highs = new Map<string, bigint>();
        for (const topic of Object.values(this.topics)) {
          for (const o of await admin.fetchTopicOffsets(topic))
            highs.set(`${topic}:${o.partition}`, BigInt(o.high));
        }
        try {
          const { rows } = await this.pool.query<{ topic: string; partition: number; next_offset: string }>(
            `SELECT topic, partition, next_offset::text FROM ${this.q('pipeline_offsets')} WHERE consumer_group = $1`,
            [this.groupId],
          );
          const stored = new Map(rows.map((r) => [`${r.topic}:${r.partition}`, BigInt(r.next_offset)]));
          if ([...highs].every(([k, high]) => high === 0n || (stored.get(k) ?? -1n) >= high)) return true;
        } catch {
          // PostgreSQL restarting
        }
        await delay(250);
      }
    } finally {
      await admin.disconnect();
    }
    this.fail(`the group did not catch up within ${timeoutMs / 1000} s`);
    return false;
  }

  /** Every statement on the tables sleeps this long (a statement trigger): batches are in flight for long. */
  async slowDatabase(seconds: number): Promise<void> {
    await this.pool.query(
      `CREATE OR REPLACE FUNCTION ${this.q('integrity_slow')}() RETURNS trigger LANGUAGE plpgsql AS
       $$ BEGIN PERFORM pg_sleep(${Number(seconds)}); RETURN NULL; END $$`,
    );
    for (const table of ['page_views', 'orders']) {
      await this.pool.query(`DROP TRIGGER IF EXISTS integrity_slow ON ${this.q(table)}`);
      await this.pool.query(
        `CREATE TRIGGER integrity_slow AFTER INSERT OR UPDATE OR DELETE ON ${this.q(table)}
         FOR EACH STATEMENT EXECUTE FUNCTION ${this.q('integrity_slow')}()`,
      );
    }
  }

  async fastDatabase(): Promise<void> {
    for (const table of ['page_views', 'orders']) {
      await this.pool.query(`DROP TRIGGER IF EXISTS integrity_slow ON ${this.q(table)}`);
    }
  }

  /** Waits until some member's statement is sleeping in the trigger: a batch is in flight right now. */
  async waitBatchInFlight(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const { rows } = await this.pool.query(
        `SELECT 1 FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND application_name = 'schema-first-pipeline'`,
      );
      if (rows.length > 0) return true;
      await delay(10);
    }
    return false;
  }

  /** SIGTERMs every running member; each must exit 0 within the bound. */
  async terminateAll(what: string, boundMs = 30_000): Promise<void> {
    await Promise.all(
      this.members.running().map(async (m) => {
        const code = await m.terminate(boundMs);
        if (code !== 0)
          this.fail(
            `${m.name} on SIGTERM ${what}: ${code === 'timeout' ? `no exit within ${boundMs / 1000} s` : `exit ${code}`} — ${m.output().trim().split('\n').slice(-3).join(' ⏎ ')}`,
          );
      }),
    );
  }

  /** Runs the checker and adds a table row. */
  async verify(label = this.name, refused?: (customerId: bigint) => boolean): Promise<void> {
    const result = await check({
      kafka: this.kafka,
      pool: this.pool,
      schema: this.id,
      groupId: this.groupId,
      traffic: this.traffic,
      topics: this.topics,
      ...(refused ? { refused } : {}),
    });
    for (const failure of result.failures) this.fail(`[${label}] ${failure}`);
    this.rows.push({ ...result, scenario: label, seed: this.seed, timeMs: Date.now() - this.#started });
  }

  /** `keepData`: leave the schema and topics for a look afterwards (the runner's --keep-data). */
  async close(keepData = false): Promise<void> {
    await this.stopProducer().catch(() => undefined);
    await this.members.killAll();
    for (const exit of this.members.unexpectedExits) this.fail(exit);
    if (keepData) {
      this.log(`  kept: PostgreSQL schema ${this.id}, topics ${Object.values(this.topics).join(', ')}`);
      await this.pool.end().catch(() => undefined);
      return;
    }
    await this.pool.query(`DROP SCHEMA IF EXISTS "${this.id}" CASCADE`).catch(() => undefined);
    await this.pool.end().catch(() => undefined);
    const admin = this.kafka.admin();
    await admin
      .connect()
      .then(() => admin.deleteTopics({ topics: Object.values(this.topics) }))
      .catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    this.#catalog.remove();
  }
}
