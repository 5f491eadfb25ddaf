/**
 * The program's one logger: pino, JSON lines by default (what a log collector reads), a short readable line
 * on a terminal. Operational messages (retries, rebalances, kafkajs' own) go through it; what a command
 * prints for people as its result stays on `io.out`/`io.err`.
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogSettings } from '../config.ts';

export type { Logger } from 'pino';

/**
 * Secrets by path, in any object logged at up to three levels deep: a configuration, a settings block, an
 * error's details. Messages are text and are not searched: code never puts a secret in one.
 */
const SECRET_KEYS = [
  'password',
  'connectionString',
  'databaseUrl',
  'DATABASE_URL',
  'KAFKA_SASL_PASSWORD',
  'SCHEMA_REGISTRY_PASSWORD',
  'sasl',
  'tls.key',
  'ssl.key',
  'authorization',
  'Authorization',
];
export const REDACT_PATHS = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `*.*.*.${k}`]);

export interface LoggerOptions {
  /** Where the lines go. Default stderr, written synchronously (a crash loses no line). */
  destination?: { write(line: string): unknown };
  /** Whether the destination is a terminal, for the default format. Default: stderr's. */
  isTty?: boolean;
}

export function createLogger(settings: LogSettings, options: LoggerOptions = {}): Logger {
  const isTty = options.isTty ?? process.stderr.isTTY === true;
  const format = settings.format ?? (isTty ? 'pretty' : 'json');
  const out = options.destination ?? pino.destination({ fd: 2, sync: true });
  const stream: DestinationStream =
    format === 'pretty'
      ? { write: (line: string) => out.write(prettyLine(line)) }
      : (out as DestinationStream);
  return pino(
    {
      level: settings.level,
      base: undefined,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    stream,
  );
}

/**
 * One JSON line as `12:00:01.123 WARN  message key=value …`: a synchronous formatter, since pino's own
 * transports (pino-pretty) run in a worker thread that a short command can exit before it flushes.
 */
export function prettyLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const { time, level, msg, ...rest } = entry;
  const clock = typeof time === 'string' ? time.slice(11, 23) : '';
  const fields = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${clock} ${String(level).toUpperCase().padEnd(5)} ${msg ?? ''}${fields ? ` ${fields}` : ''}\n`;
}
