import { MessageDecoder } from '../codec/message-decoder.ts';
import { loadConfig } from '../config.ts';
import { assertStartupContract } from '../consumer/startup-gate.ts';
import { entryFor, loadCatalog } from '../contracts/catalog.ts';
import { RegistryClient } from '../contracts/registry-client.ts';
import { UsageError } from '../errors.ts';
import { createPool } from '../sink/database.ts';
import { readDeadLetters } from '../sink/dead-letters.ts';
import { replayDeadLetterBatch, type SinkMessage } from '../sink/partition-writer.ts';
import type { Command } from './command.ts';

export const replayCommand: Command = {
  usage: 'pipeline replay [--topic <t>]… [--group <g>] [--page <n>]',
  help: [
    'Decodes every dead letter of the consumer group again from its raw bytes (the registry may know the',
    'schema id now, a migration may have widened a column, a bug may be fixed) and writes what now goes',
    'through, deleting its dead letter in the same transaction. What fails again stays, with its new cause.',
    'Runs the start-up gate first. Safe to run while the consumer runs.',
    '',
    '--topic <t>   only this catalog topic (repeatable; default all)',
    '--group <g>   the consumer group whose dead letters to replay (default CONSUMER_GROUP_ID)',
    '--page <n>    dead letters per transaction (default 1000)',
  ].join('\n'),
  options: {
    topic: { type: 'string', multiple: true },
    group: { type: 'string' },
    page: { type: 'string', default: '1000' },
  },
  async run(args, io) {
    const page = Number(args.values.page);
    if (!Number.isSafeInteger(page) || page < 1) throw new UsageError('--page must be a whole number >= 1');
    const config = loadConfig();
    const catalog = loadCatalog(config.schemasDir);
    const groupId = (args.values.group as string | undefined) ?? config.consumer.groupId;
    const entries = ((args.values.topic as string[] | undefined) ?? catalog.entries.map((e) => e.topic)).map(
      (t) => entryFor(catalog, t),
    );
    const pool = createPool(config.database, { max: 2, log: (line) => io.log.warn(line) });
    const registry = new RegistryClient(config.registry);
    try {
      await assertStartupContract({ pool, catalog, registry, migrationsDir: config.migrationsDir });
      // No grace for unknown ids: a replayed message whose schema is still unknown simply stays dead.
      const decoder = new MessageDecoder(registry, { unknownSchemaGraceMs: 0 });
      for (const entry of entries) {
        let replayed = 0;
        let stillDead = 0;
        let afterId: string | undefined;
        for (;;) {
          const letters = await readDeadLetters(pool, {
            groupId,
            topic: entry.topic,
            limit: page,
            ...(afterId === undefined ? {} : { afterId }),
          });
          if (letters.length === 0) break;
          afterId = letters.at(-1)!.id;
          const outcomes = await decoder.decodeBatch(
            entry,
            letters.map((l) => l.value),
            config.consumer.copyFormat,
          );
          const messages: SinkMessage[] = letters.map((l, i) => ({
            topic: l.topic,
            partition: l.partition,
            offset: l.offset,
            // Letters from before the kafka_timestamp column have none: the time they failed stands in.
            timestamp: l.kafkaTimestamp ?? String(l.failedAt.getTime()),
            key: l.key,
            value: l.value,
            headers: l.headers,
            outcome: outcomes[i]!,
          }));
          const result = await replayDeadLetterBatch(pool, {
            groupId,
            entry,
            messages,
            ids: letters.map((l) => l.id),
            copyFormat: config.consumer.copyFormat,
          });
          replayed += result.replayed;
          stillDead += result.stillDead;
        }
        io.out(`${entry.topic}: ${replayed} replayed, ${stillDead} still dead`);
      }
    } finally {
      registry.close();
      await pool.end();
    }
  },
};
