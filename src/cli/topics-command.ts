import { loadConfig } from '../config.ts';
import { loadCatalog } from '../contracts/catalog.ts';
import { UsageError } from '../errors.ts';
import { createKafka } from '../kafka/kafka-client.ts';
import { createTopics } from '../producer/topics.ts';
import type { Command } from './command.ts';

export const topicsCommand: Command = {
  usage: 'pipeline topics create [--replication-factor <n>]',
  positionals: ['action'],
  help: [
    'create   create every topic of the catalog with its "partitions"; a topic that exists is left alone',
    '         (its partition count is reported when it differs from the catalog)',
    '',
    '--replication-factor <n>   copies of each partition (default 1, the local single broker; use 3 on a',
    '                           production cluster)',
  ].join('\n'),
  options: { 'replication-factor': { type: 'string', default: '1' } },
  async run(args, io) {
    const [action] = args.positionals;
    if (action !== 'create') throw new UsageError(`unknown action "${action ?? ''}"`);
    const raw = String(args.values['replication-factor']);
    const replicationFactor = Number(raw);
    if (!Number.isInteger(replicationFactor) || replicationFactor < 1) {
      throw new UsageError(`--replication-factor must be a whole number of at least 1, not "${raw}"`);
    }
    const config = loadConfig();
    const catalog = loadCatalog(config.schemasDir);
    for (const t of await createTopics(createKafka(config.kafka, { logger: io.log }), catalog, {
      replicationFactor,
    })) {
      const partitions =
        t.actualPartitions === t.partitions
          ? `${t.partitions} partitions`
          : `${t.actualPartitions} partitions (the catalog asks for ${t.partitions})`;
      io.out(`${t.topic}  ${t.status === 'created' ? 'created' : 'exists'}  ${partitions}`);
    }
  },
};
