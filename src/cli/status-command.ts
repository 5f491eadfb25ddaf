import { loadConfig } from '../config.ts';
import { entryFor, loadCatalog } from '../contracts/catalog.ts';
import { createKafka } from '../kafka/kafka-client.ts';
import { type PipelineStatus, readPipelineStatus } from '../observability/pipeline-status.ts';
import { createPool } from '../sink/database.ts';
import type { Command } from './command.ts';

export const statusCommand: Command = {
  usage: 'pipeline status [--topic <t>]… [--json]',
  help: [
    'Reads Kafka and PostgreSQL (no consumer needs to run) and prints, for CONSUMER_GROUP_ID:',
    '  lag per partition   log end, the next offset stored with the rows, and the messages in between',
    '  rows per table      exact counts (count(*): slow on very large tables)',
    '  dead letters        per topic and cause (error_class, SQLSTATE)',
    '',
    '--topic <t>   only this catalog topic (repeatable; default all)',
    '--json        one JSON document instead of tables',
  ].join('\n'),
  options: {
    topic: { type: 'string', multiple: true },
    json: { type: 'boolean' },
  },
  async run(args, io) {
    const config = loadConfig();
    const catalog = loadCatalog(config.schemasDir);
    const topics = args.values.topic as string[] | undefined;
    const entries = topics ? topics.map((t) => entryFor(catalog, t)) : catalog.entries;
    const pool = createPool(config.database, { max: 2, log: (line) => io.log.warn(line) });
    try {
      const status = await readPipelineStatus({
        kafka: createKafka(config.kafka, { logger: io.log, retries: 2 }),
        pool,
        groupId: config.consumer.groupId,
        entries,
      });
      if (args.values.json === true) io.out(JSON.stringify(statusJson(status), null, 2));
      else io.out(formatStatus(status));
    } finally {
      await pool.end();
    }
  },
};

function statusJson(status: PipelineStatus): unknown {
  return {
    ...status,
    partitions: status.partitions.map((p) => ({
      ...p,
      logStart: p.logStart.toString(),
      logEnd: p.logEnd.toString(),
      storedNext: p.storedNext?.toString() ?? null,
    })),
  };
}

/** Columns padded to their widest cell; numbers right-aligned. */
function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

export function formatStatus(status: PipelineStatus): string {
  const totalLag = status.partitions.reduce((n, p) => n + p.lag, 0);
  const out = [`group ${status.group}: lag ${totalLag}`, ''];
  out.push(
    ...table(
      ['topic', 'partition', 'log end', 'stored next', 'lag'],
      status.partitions.map((p) => [
        p.topic,
        String(p.partition),
        p.logEnd.toString(),
        p.storedNext?.toString() ?? '-',
        String(p.lag),
      ]),
    ),
    '',
  );
  out.push(
    ...table(
      ['table', 'rows'],
      status.tables.map((t) => [t.table, t.rows === null ? 'missing (migrate up)' : String(t.rows)]),
    ),
    '',
  );
  if (status.deadLetters.length === 0) out.push('dead letters: none');
  else
    out.push(
      ...table(
        ['topic', 'cause', 'dead letters'],
        status.deadLetters.map((d) => [
          d.topic,
          `${d.cause}${d.sqlState ? ` (SQLSTATE ${d.sqlState})` : ''}`,
          String(d.count),
        ]),
      ),
    );
  return out.join('\n');
}
