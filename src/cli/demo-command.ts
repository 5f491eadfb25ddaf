import { MessageDecoder } from '../codec/message-decoder.ts';
import { loadConfig, loadStackSettings } from '../config.ts';
import { PipelineConsumer } from '../consumer/pipeline-consumer.ts';
import { assertStartupContract } from '../consumer/startup-gate.ts';
import { loadCatalog } from '../contracts/catalog.ts';
import { RegistryClient } from '../contracts/registry-client.ts';
import { registerSchemas } from '../contracts/schema-workflow.ts';
import { UsageError } from '../errors.ts';
import { createKafka } from '../kafka/kafka-client.ts';
import { createFakeEvents } from '../producer/fake-events.ts';
import { poisonMessages } from '../producer/poison-messages.ts';
import { createTopics } from '../producer/topics.ts';
import { TypedProducer } from '../producer/typed-producer.ts';
import { createPool } from '../sink/database.ts';
import { migrateUp } from '../sink/migrations.ts';
import { quoteIdentifier } from '../sink/sql-identifier.ts';
import { stackUp } from '../stack/stack.ts';
import type { Command } from './command.ts';
import { formatCounters } from './format-counters.ts';

export const demoCommand: Command = {
  usage: 'pipeline demo [--events <per topic>] [--timeout-seconds <s>]',
  help: [
    'Starts the local stack unless the services are configured, migrates, creates the topics, registers every',
    'schema version, produces events of every topic (old and new schema versions mixed) plus a few poison',
    'messages, consumes until every message is a row or a dead letter, and prints a summary.',
    '',
    '--events <n>            events per topic (default 3000)',
    '--timeout-seconds <s>   give up consuming after s seconds (default 300)',
  ].join('\n'),
  options: {
    events: { type: 'string', default: '3000' },
    'timeout-seconds': { type: 'string', default: '300' },
  },
  async run(args, io) {
    const perTopic = Number(args.values.events);
    const timeoutSeconds = Number(args.values['timeout-seconds']);
    if (!Number.isSafeInteger(perTopic) || perTopic < 1)
      throw new UsageError('--events must be a whole number >= 1');
    if (!(timeoutSeconds > 0)) throw new UsageError('--timeout-seconds must be > 0');

    io.err('1/6 local stack');
    await stackUp(loadStackSettings(), io.err);
    // Read after the stack wrote its connection settings.
    const config = loadConfig();
    const catalog = loadCatalog(config.schemasDir);
    const kafka = createKafka(config.kafka, { logger: io.log });
    const registry = new RegistryClient(config.registry);
    const pool = createPool(config.database, {
      max: config.consumer.partitionConcurrency + 2,
      log: (line) => io.log.warn(line),
    });
    try {
      io.err('2/6 migrations');
      for (const name of await migrateUp(config.database, { migrationsDir: config.migrationsDir })) {
        io.err(`  applied ${name}`);
      }
      io.err('3/6 topics and schemas');
      for (const topic of await createTopics(kafka, catalog)) io.err(`  ${topic.topic}: ${topic.status}`);
      const registrations = await registerSchemas(catalog, registry, { allVersions: true });
      for (const r of registrations) io.err(`  ${r.subject} v${r.version} id ${r.id} (${r.file})`);

      io.err('4/6 events');
      const producer = new TypedProducer({ kafka, catalog, registry });
      // Poison is by definition not what the typed producer would send: it goes through a plain producer.
      const raw = kafka.producer({ idempotent: true, allowAutoTopicCreation: false });
      await Promise.all([producer.connect(), raw.connect()]);
      let produced = 0;
      try {
        for (const entry of catalog.entries) {
          // Old and new writer versions mixed in one topic, as during a rolling producer upgrade.
          const share = Math.ceil(perTopic / entry.versions.length);
          for (const version of entry.versions) {
            const events = createFakeEvents(entry, { version: version.version }).take(share);
            await producer.sendUnchecked(entry.topic, version.version, events);
            produced += events.length;
            io.err(`  ${entry.topic}: ${events.length} events of ${version.file}`);
          }
          const readerId = registrations.find(
            (r) => r.topic === entry.topic && r.file === entry.reader.file,
          )!.id;
          const sample = createFakeEvents(entry).take(1)[0] as Record<string, unknown>;
          const poison = poisonMessages(entry, readerId, sample);
          await raw.send({ topic: entry.topic, acks: -1, messages: poison.map(({ label: _, ...m }) => m) });
          produced += poison.length;
          io.err(
            `  ${entry.topic}: ${poison.length} poison messages (${poison.map((p) => p.label).join('; ')})`,
          );
        }
      } finally {
        await Promise.all([producer.disconnect(), raw.disconnect()]);
      }

      io.err('5/6 consume until caught up');
      await assertStartupContract({ pool, catalog, registry, migrationsDir: config.migrationsDir });
      const consumer = new PipelineConsumer({
        kafka,
        pool,
        decoder: new MessageDecoder(registry),
        catalog,
        settings: config.consumer,
        log: (line, level = 'warn') => io.log[level](line),
      });
      const started = Date.now();
      await consumer.start();
      try {
        await consumer.caughtUp(timeoutSeconds * 1000);
      } finally {
        await consumer.stop();
      }
      await consumer.done;

      io.err('6/6 summary');
      io.out(
        `produced ${produced} messages; consumed ${formatCounters(consumer.counters, Date.now() - started)}`,
      );
      io.out('rows per table:');
      for (const entry of catalog.entries) {
        const { rows } = await pool.query<{ n: string }>(
          `SELECT count(*) AS n FROM ${quoteIdentifier(entry.table)}`,
        );
        io.out(`  ${entry.table}: ${rows[0]!.n}`);
      }
      const { rows: causes } = await pool.query<{ error_class: string; sql_state: string | null; n: string }>(
        `SELECT error_class, sql_state, count(*) AS n FROM dead_letters WHERE consumer_group = $1
          GROUP BY 1, 2 ORDER BY 1, 2`,
        [config.consumer.groupId],
      );
      io.out('dead letters by cause:');
      for (const c of causes)
        io.out(`  ${c.error_class}${c.sql_state ? ` (SQLSTATE ${c.sql_state})` : ''}: ${c.n}`);
    } finally {
      registry.close();
      await pool.end();
    }
  },
};
