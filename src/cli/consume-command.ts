import { MessageDecoder } from '../codec/message-decoder.ts';
import { loadConfig } from '../config.ts';
import { PipelineConsumer } from '../consumer/pipeline-consumer.ts';
import { assertStartupContract } from '../consumer/startup-gate.ts';
import { loadCatalog } from '../contracts/catalog.ts';
import { RegistryClient } from '../contracts/registry-client.ts';
import { PipelineError, UsageError } from '../errors.ts';
import { createKafka } from '../kafka/kafka-client.ts';
import { createPool } from '../sink/database.ts';
import type { Command } from './command.ts';
import { exitCodeOf } from './exit-codes.ts';
import { formatCounters } from './format-counters.ts';

export const consumeCommand: Command = {
  usage: 'pipeline consume [--topic <t>]… [--write-strategy copy|unnest] [--progress-seconds <s>]',
  help: [
    'Checks the start-up contract first (migrations applied, tables match the reader schemas, every',
    'registered writer schema readable) and refuses to start, exit 4, when they disagree.',
    'Then writes each partition batch in one transaction with its offset; SIGTERM or SIGINT lets the batch',
    'in flight commit or roll back, leaves the group and exits 0; if that takes longer than',
    'CONSUMER_SHUTDOWN_TIMEOUT_MS (15 s), the broker connections are closed and it exits 6. Run several',
    'instances with the same CONSUMER_GROUP_ID to share the partitions. An unreachable broker at start is',
    'BROKER_UNAVAILABLE, exit 6; stored offsets past the end of a topic (recreated?) refuse the start, exit 4.',
    '',
    '--topic <t>              consume only this catalog topic (repeatable; default all)',
    '--write-strategy <s>     bulk path: copy (default; upserts via a temporary stage table) or unnest',
    '--progress-seconds <s>   log counters every s seconds (default 10; 0 = only at exit)',
    '',
    'With METRICS_PORT set, serves /metrics (Prometheus), /healthz and /readyz on METRICS_HOST (127.0.0.1).',
    'Operational messages go to stderr through the logger: JSON lines, or readable on a terminal (LOG_FORMAT).',
  ].join('\n'),
  options: {
    topic: { type: 'string', multiple: true },
    'write-strategy': { type: 'string' },
    'progress-seconds': { type: 'string', default: '10' },
  },
  async run(args, io) {
    const strategy = args.values['write-strategy'];
    if (strategy !== undefined && strategy !== 'copy' && strategy !== 'unnest') {
      throw new UsageError('--write-strategy must be copy or unnest');
    }
    const progressSeconds = Number(args.values['progress-seconds']);
    if (!Number.isFinite(progressSeconds) || progressSeconds < 0) {
      throw new UsageError('--progress-seconds must be a number >= 0');
    }
    const config = loadConfig();
    const catalog = loadCatalog(config.schemasDir);
    const topics = args.values.topic as string[] | undefined;
    const log = io.log;
    const logLine = (line: string, level: 'error' | 'warn' | 'info' = 'warn') => log[level](line);
    const pool = createPool(config.database, { max: config.consumer.partitionConcurrency + 2, log: logLine });
    // No retries inside the client: the consumer retries transient faults itself, heartbeating between
    // attempts; a client retrying on its own could outlast the session timeout.
    const registry = new RegistryClient(config.registry, { retries: 0, timeoutMs: 5000 });
    try {
      await assertStartupContract({ pool, catalog, registry, migrationsDir: config.migrationsDir });
      // kafkajs' own lines are held back until the consumer runs: a broker unreachable at start is then the
      // one BROKER_UNAVAILABLE line, not a retry log of ten lines before it.
      let running = false;
      const kafka = createKafka(config.kafka, { logger: log, muted: () => !running, retries: 5 });
      const entries = topics ?? catalog.entries.map((e) => e.topic);
      const { metricsPort, metricsHost, healthStallMs, lagIntervalMs } = config.observability;
      // Loaded only when served: prom-client and its OpenTelemetry API are ~90 modules, ~2 MB of heap.
      const observability =
        metricsPort === undefined
          ? undefined
          : await Promise.all([
              import('../observability/consumer-metrics.ts'),
              import('../observability/health-server.ts'),
            ]);
      const metrics =
        observability === undefined
          ? undefined
          : new observability[0].ConsumerMetrics({
              kafka,
              pool,
              groupId: config.consumer.groupId,
              topics: entries,
              lagIntervalMs,
              stallMs: healthStallMs,
              log: logLine,
            });
      const consumer = new PipelineConsumer({
        kafka,
        pool,
        decoder: new MessageDecoder(registry, { fastPath: config.consumer.fastPath }),
        catalog,
        settings: config.consumer,
        ...(topics ? { topics } : {}),
        ...(strategy ? { writeStrategy: strategy } : {}),
        log: logLine,
        ...(metrics ? { observer: metrics } : {}),
      });
      const server =
        metrics === undefined || observability === undefined
          ? undefined
          : await observability[1].startHealthServer(metrics, metricsHost, metricsPort!);
      if (server)
        log.info(
          { host: metricsHost, port: server.port },
          `metrics on http://${metricsHost}:${server.port}/metrics`,
        );
      const started = Date.now();
      const stop = (signal: string) => {
        log.info(`${signal}: finishing the batch in flight, then leaving the group`);
        void consumer.stop();
        // The last resort, past the consumer's own deadline: something other than the broker sockets (a
        // database query that will not end) still holds the process. Unref'd: it never delays a clean exit.
        setTimeout(() => {
          const error = new PipelineError(
            'SHUTDOWN_TIMEOUT',
            'still not stopped 5 s after CONSUMER_SHUTDOWN_TIMEOUT_MS: exiting',
          );
          io.err(`error [${error.code}]: ${error.message}`);
          process.exit(exitCodeOf(error));
        }, config.consumer.shutdownTimeoutMs + 5000).unref();
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
      try {
        await consumer.start();
      } catch (error) {
        await server?.close();
        throw error;
      }
      running = true;
      metrics?.start();
      log.info(
        { topics: entries, group: config.consumer.groupId },
        `consuming ${topics?.join(', ') ?? 'every catalog topic'} as group ${config.consumer.groupId}`,
      );
      const timer =
        progressSeconds > 0
          ? setInterval(
              () =>
                log.info(
                  { counters: Object.fromEntries(consumer.counters) },
                  formatCounters(consumer.counters, Date.now() - started),
                ),
              progressSeconds * 1000,
            )
          : undefined;
      try {
        await consumer.done;
      } finally {
        clearInterval(timer);
        await metrics?.stop();
        await server?.close();
        io.out(formatCounters(consumer.counters, Date.now() - started));
      }
    } finally {
      registry.close();
      await pool.end();
      // The command is over and its outcome decided (main sets the exit code when this returns): a kafkajs
      // timer or reconnect left behind after a shutdown past its deadline must not hold the process.
      setTimeout(() => process.exit(), 1000).unref();
    }
  },
};
