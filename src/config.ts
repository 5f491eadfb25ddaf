/**
 * The only module that reads `process.env`. Everything else receives a validated, typed configuration.
 *
 * Sources, first wins: the process environment, then `.env` in the working directory (the user's own
 * settings), then `.stack/stack.env` (written by `npm run stack:up` for the local services). A service named
 * by the first two is "external": the local stack leaves it alone.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { databaseUrlProblems, isLoopbackHost } from './database-url.ts';
import { parseEnvFile } from './env-file.ts';
import { ConfigurationError } from './errors.ts';
import { type CopyFormat, DEFAULT_COPY_FORMAT } from './sink/copy-buffer.ts';

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Root of the project: where schemas/, migrations/ and .stack/ live. Found as the first folder above this
 * module with a package.json, so that it is the same from src/ (through tsx) and from dist/src/ (compiled).
 */
export const projectRoot = ((): string => {
  for (let dir = import.meta.dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return resolve(import.meta.dirname, '..');
  }
})();

export interface EnvironmentSources {
  /** The process environment plus `.env`: what the user configured. */
  user: Env;
  /** What the local stack wrote for the services it runs. */
  stack: Env;
}

function readEnvFile(path: string): Env {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ConfigurationError([`cannot read ${path}: ${(error as Error).message}`], { cause: error });
  }
  return parseEnvFile(text, path);
}

export function stackDirectory(env: Env = process.env): string {
  return resolve(projectRoot, env.STACK_DIR ?? '.stack');
}

export function stackEnvFile(env: Env = process.env): string {
  return join(stackDirectory(env), 'stack.env');
}

/** Reads the three sources once. Tests pass their own `Env` to the parsers below instead. */
export function readEnvironment(): EnvironmentSources {
  const dotenv = readEnvFile(resolve(process.cwd(), '.env'));
  const user: Env = { ...dotenv, ...process.env };
  return { user, stack: readEnvFile(stackEnvFile(user)) };
}

/** The merged view: user settings over the local stack's. */
export function mergedEnvironment(sources: EnvironmentSources = readEnvironment()): Env {
  return { ...sources.stack, ...sources.user };
}

function isPort(value: number): boolean {
  return Number.isInteger(value) && value >= 1 && value <= 65_535;
}

// ---------------------------------------------------------------------------------------------------------
// Small validators that collect problems instead of throwing at the first one.

class Problems {
  readonly list: string[] = [];
  constructor(readonly env: Env) {}

  string(name: string, fallback?: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === undefined || value === '' ? fallback : value;
  }

  required(name: string, hint: string): string {
    const value = this.string(name);
    if (value === undefined) this.list.push(`${name} is not set (${hint})`);
    return value ?? '';
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      this.list.push(`${name}=${raw} must be a whole number from ${min} to ${max}`);
      return fallback;
    }
    return value;
  }

  /** A whole number that may be left unset (then undefined: the feature is off), never a made-up default. */
  optionalInteger(name: string, min: number, max: number): number | undefined {
    if (this.string(name) === undefined) return undefined;
    return this.integer(name, min, min, max);
  }

  boolean(name: string, fallback: boolean): boolean {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    if (['1', 'true', 'yes'].includes(raw.toLowerCase())) return true;
    if (['0', 'false', 'no'].includes(raw.toLowerCase())) return false;
    this.list.push(`${name}=${raw} must be true or false`);
    return fallback;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    const raw = this.string(name);
    if (raw === undefined) return undefined;
    if ((allowed as readonly string[]).includes(raw)) return raw as T;
    this.list.push(`${name}=${raw} must be one of ${allowed.join(', ')}`);
    return undefined;
  }

  file(name: string): string | undefined {
    const path = this.string(name);
    if (path === undefined) return undefined;
    try {
      return readFileSync(resolve(process.cwd(), path), 'utf8');
    } catch (error) {
      this.list.push(`${name}=${path} cannot be read: ${(error as NodeJS.ErrnoException).code ?? error}`);
      return undefined;
    }
  }

  url(name: string, value: string, protocols: readonly string[]): URL | undefined {
    try {
      const url = new URL(value);
      // URL() refuses ports above 65535 itself, but not 0.
      if (url.port !== '' && !isPort(Number(url.port))) this.list.push(`${name} has a port outside 1-65535`);
      if (!protocols.includes(url.protocol)) {
        this.list.push(`${name} must start with ${protocols.map((p) => `${p}//`).join(' or ')}`);
      }
      return url;
    } catch {
      // The value may hold a password: never echo it.
      this.list.push(`${name} is not a valid URL`);
      return undefined;
    }
  }

  throwIfAny(): void {
    if (this.list.length > 0) throw new ConfigurationError(this.list);
  }
}

// ---------------------------------------------------------------------------------------------------------
// The pipeline's configuration.

export interface TlsSettings {
  /**
   * PEM of the CA the server certificate must chain to; absent: Node's default CA store (a broker with a
   * publicly trusted certificate). Verification is never turned off.
   */
  ca?: string;
  /** Client certificate and key (Aiven's service.cert / service.key), for mutual TLS. */
  cert?: string;
  key?: string;
}

export interface KafkaSettings {
  brokers: string[];
  /** Default `schema-first-pipeline`. */
  clientId: string;
  tls?: TlsSettings;
  sasl?: { mechanism: 'scram-sha-256' | 'scram-sha-512' | 'plain'; username: string; password: string };
}

export interface RegistrySettings {
  /** Base URL of the Confluent-compatible API, e.g. `http://127.0.0.1:18081/apis/ccompat/v7`. */
  url: string;
  auth?: { username: string; password: string };
  /** CA for an HTTPS registry (Karapace on Aiven). */
  ca?: string;
}

export interface DatabaseSettings {
  connectionString: string;
  /** PostgreSQL schema of the pipeline's tables (the connections' search_path). Default `public`. */
  schema: string;
  /** CA to verify the server against (verify-full); absent means what the URL says. */
  ca?: string;
}

export interface ConsumerSettings {
  /** Consumer group. Default `schema-first-pipeline`. */
  groupId: string;
  /** Rows per database transaction at most. Default 5000. */
  batchMaxRows: number;
  /** How long a partial batch waits for more messages before it is written. Default 100 ms. */
  batchMaxWaitMs: number;
  /**
   * Bytes one fetch asks the broker for, every partition together (each partition at most its
   * 1/partitionConcurrency share): what bounds the messages in memory at once, so that the consumer's memory
   * stays flat however long the backlog. A record batch larger than the share still comes whole. Default
   * 524 288 (512 KiB).
   */
  fetchMaxBytes: number;
  /** Where a new group starts: the earliest offset (default true) or the latest. */
  fromBeginning: boolean;
  /** Partition batches written at the same time, each in its own transaction. Default 4. */
  partitionConcurrency: number;
  /**
   * Chunks of a partition fetched and decoded while an earlier one is still being written, while the
   * partition has a backlog (each waits its turn: a partition's chunks commit in log order, and none after
   * one that failed). 0 writes each chunk before the next fetch. Memory holds at most 1 + this many chunks per partition. Default 1.
   */
  writeAhead: number;
  /**
   * The COPY format rows are sent in with the `copy` strategy: `binary` (the default: PostgreSQL receives
   * integers, UUIDs, timestamps and dates without parsing their text; docs/performance.md has the
   * measurement) or `text`. The `unnest` strategy always reads text.
   */
  copyFormat: CopyFormat;
  /**
   * Decode through the compiled per-writer-schema transcoder (src/sink/row-transcoder.ts), the reference
   * decode → map path only for the messages it leaves. Default true; false is the reference path alone.
   */
  fastPath: boolean;
  /**
   * How long the group coordinator waits for a heartbeat before it drops a member (and a restarted member
   * waits for a dead one to be dropped). Default 10 000 ms; the broker accepts 6 000 to 1 800 000 by default.
   * Heartbeats continue while a chunk is written, so a long transaction does not need a longer session.
   */
  sessionTimeoutMs: number;
  /** Heartbeat every this many ms at most; below a third of the session timeout. Default 1000. */
  heartbeatIntervalMs: number;
  /**
   * How long a rebalance waits for every member to rejoin; a member still writing after it is dropped and
   * rejoins afterwards. Default 30 000 ms.
   */
  rebalanceTimeoutMs: number;
  /** `stop()` waits this long for the batch in flight and the group leave, then closes the sockets. Default 15 000 ms. */
  shutdownTimeoutMs: number;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface LogSettings {
  /** `LOG_LEVEL`, default `info`. */
  level: LogLevel;
  /** `LOG_FORMAT`: `json` or `pretty`; unset means pretty on a terminal, JSON otherwise (decided by the logger). */
  format?: 'json' | 'pretty';
}

export interface ObservabilitySettings {
  /** `METRICS_PORT`: where `pipeline consume` serves /metrics, /healthz and /readyz; unset means no server. */
  metricsPort?: number;
  /** `METRICS_HOST`, default 127.0.0.1; 0.0.0.0 in a container, so that the orchestrator can reach it. */
  metricsHost: string;
  /** `/healthz` fails when partitions with lag have seen no commit for this long. Default 60 000 ms. */
  healthStallMs: number;
  /** How often the lag per partition is recomputed from Kafka and PostgreSQL. Default 5 000 ms. */
  lagIntervalMs: number;
}

export interface PipelineConfig {
  log: LogSettings;
  observability: ObservabilitySettings;
  kafka: KafkaSettings;
  registry: RegistrySettings;
  database: DatabaseSettings;
  consumer: ConsumerSettings;
  /** Folder of the `.avsc` files and `catalog.json`. Default `<project>/schemas`. */
  schemasDir: string;
  /** Folder of the node-pg-migrate migrations. Default `<project>/migrations`. */
  migrationsDir: string;
}

/**
 * A client certificate and key that cannot be used would otherwise fail inside kafkajs' socket set-up, which
 * retries it like an outage. Never echoes the files' content: the key is a secret.
 */
function clientCertificateProblems(certPem: string, keyPem: string): string[] {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certPem);
  } catch {
    return ['KAFKA_CERT_FILE does not hold a PEM certificate'];
  }
  try {
    if (!certificate.checkPrivateKey(createPrivateKey(keyPem)))
      return ['KAFKA_KEY_FILE is not the private key of the certificate in KAFKA_CERT_FILE'];
  } catch {
    return ['KAFKA_KEY_FILE does not hold an unencrypted PEM private key'];
  }
  return [];
}

const HINT_STACK = 'run `npm run stack:up`, or set it to your own service';

function isLoopbackUrl(value: string): boolean {
  try {
    return isLoopbackHost(new URL(value).hostname);
  } catch {
    return false;
  }
}

/** Validates the whole configuration; every problem is reported in one ConfigurationError. */
export function parseConfig(env: Env): PipelineConfig {
  const p = new Problems(env);

  const brokers = p
    .required('KAFKA_BROKERS', HINT_STACK)
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b !== '');
  for (const broker of brokers) {
    const port = /^[^\s:]+:(\d{1,5})$/.exec(broker)?.[1];
    if (port === undefined) p.list.push(`KAFKA_BROKERS: "${broker}" is not host:port`);
    else if (!isPort(Number(port))) p.list.push(`KAFKA_BROKERS: "${broker}" has a port outside 1-65535`);
  }
  const kafka: KafkaSettings = { brokers, clientId: p.string('KAFKA_CLIENT_ID', 'schema-first-pipeline')! };
  const kafkaCa = p.file('KAFKA_CA_FILE');
  const kafkaCert = p.file('KAFKA_CERT_FILE');
  const kafkaKey = p.file('KAFKA_KEY_FILE');
  if ((kafkaCert === undefined) !== (kafkaKey === undefined) && p.string('KAFKA_CERT_FILE') !== undefined) {
    p.list.push('KAFKA_CERT_FILE and KAFKA_KEY_FILE go together');
  }
  if (kafkaCert !== undefined && kafkaKey !== undefined)
    p.list.push(...clientCertificateProblems(kafkaCert, kafkaKey));
  // TLS is on with a CA file, or with KAFKA_TLS=true alone (then the system's CA store verifies the broker).
  const kafkaCaFileSet = p.string('KAFKA_CA_FILE') !== undefined;
  const kafkaTls = p.boolean('KAFKA_TLS', kafkaCaFileSet);
  if (!kafkaTls && kafkaCaFileSet) p.list.push('KAFKA_TLS=false contradicts KAFKA_CA_FILE: choose one');
  if (kafkaTls) {
    kafka.tls = {
      ...(kafkaCa ? { ca: kafkaCa } : {}),
      ...(kafkaCert ? { cert: kafkaCert } : {}),
      ...(kafkaKey ? { key: kafkaKey } : {}),
    };
  } else if (p.string('KAFKA_CERT_FILE') !== undefined) {
    p.list.push(
      'KAFKA_CERT_FILE needs TLS: set KAFKA_CA_FILE, or KAFKA_TLS=true for a broker the system CA store trusts',
    );
  }
  const mechanism = p.oneOf('KAFKA_SASL_MECHANISM', ['scram-sha-256', 'scram-sha-512', 'plain'] as const);
  if (mechanism !== undefined) {
    kafka.sasl = {
      mechanism,
      username: p.required('KAFKA_SASL_USERNAME', 'needed with KAFKA_SASL_MECHANISM'),
      password: p.required('KAFKA_SASL_PASSWORD', 'needed with KAFKA_SASL_MECHANISM'),
    };
    if (kafka.tls === undefined)
      p.list.push(
        'KAFKA_SASL_MECHANISM needs TLS (credentials only over TLS): set KAFKA_CA_FILE, or KAFKA_TLS=true',
      );
  }

  const registryUrl = p.required('SCHEMA_REGISTRY_URL', HINT_STACK);
  if (registryUrl !== '') p.url('SCHEMA_REGISTRY_URL', registryUrl, ['http:', 'https:']);
  const registry: RegistrySettings = { url: registryUrl.replace(/\/+$/, '') };
  const registryUser = p.string('SCHEMA_REGISTRY_USERNAME');
  if (registryUser !== undefined) {
    registry.auth = {
      username: registryUser,
      password: p.required('SCHEMA_REGISTRY_PASSWORD', 'needed with SCHEMA_REGISTRY_USERNAME'),
    };
  }
  if (registry.auth !== undefined && registryUrl.startsWith('http:') && !isLoopbackUrl(registryUrl)) {
    p.list.push(
      'SCHEMA_REGISTRY_USERNAME/PASSWORD over plain http would send the password in clear: use https',
    );
  }
  const registryCa = p.file('SCHEMA_REGISTRY_CA_FILE');
  if (registryCa !== undefined) registry.ca = registryCa;

  const databaseUrl = p.required('DATABASE_URL', HINT_STACK);
  const databaseCa = p.file('DATABASE_CA_FILE');
  const databaseTls = p.oneOf('DATABASE_TLS', ['disabled'] as const);
  const databaseProtocols = ['postgres:', 'postgresql:'];
  const parsedDatabaseUrl =
    databaseUrl === '' ? undefined : p.url('DATABASE_URL', databaseUrl, databaseProtocols);
  if (parsedDatabaseUrl !== undefined && databaseProtocols.includes(parsedDatabaseUrl.protocol)) {
    p.list.push(
      ...databaseUrlProblems(parsedDatabaseUrl, {
        caFile: p.string('DATABASE_CA_FILE') !== undefined,
        tlsDisabled: databaseTls === 'disabled',
      }),
    );
  }
  // node-postgres reads these behind the configuration's back; PGSSLMODE=no-verify would skip verification.
  for (const name of ['PGSSLMODE', 'PGSSLROOTCERT', 'PGSSLCERT', 'PGSSLKEY']) {
    if (p.string(name) !== undefined)
      p.list.push(`${name} is set: configure TLS with DATABASE_URL or DATABASE_CA_FILE`);
  }
  const schema = p.string('DATABASE_SCHEMA', 'public')!;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema))
    p.list.push(`DATABASE_SCHEMA=${schema} must be a lower-case SQL identifier`);
  const database: DatabaseSettings = {
    connectionString: databaseUrl,
    schema,
    ...(databaseCa ? { ca: databaseCa } : {}),
  };

  const consumer: ConsumerSettings = {
    groupId: p.string('CONSUMER_GROUP_ID', 'schema-first-pipeline')!,
    batchMaxRows: p.integer('CONSUMER_BATCH_MAX_ROWS', 5000, 1, 100_000),
    batchMaxWaitMs: p.integer('CONSUMER_BATCH_MAX_WAIT_MS', 100, 0, 60_000),
    fetchMaxBytes: p.integer('CONSUMER_FETCH_MAX_BYTES', 524_288, 16_384, 268_435_456),
    fromBeginning: p.boolean('CONSUMER_FROM_BEGINNING', true),
    partitionConcurrency: p.integer('CONSUMER_PARTITION_CONCURRENCY', 4, 1, 64),
    writeAhead: p.integer('CONSUMER_WRITE_AHEAD', 1, 0, 8),
    copyFormat: p.oneOf('CONSUMER_COPY_FORMAT', ['binary', 'text'] as const) ?? DEFAULT_COPY_FORMAT,
    fastPath: p.boolean('CONSUMER_FAST_PATH', true),
    sessionTimeoutMs: p.integer('CONSUMER_SESSION_TIMEOUT_MS', 10_000, 6_000, 1_800_000),
    heartbeatIntervalMs: p.integer('CONSUMER_HEARTBEAT_INTERVAL_MS', 1_000, 100, 600_000),
    rebalanceTimeoutMs: p.integer('CONSUMER_REBALANCE_TIMEOUT_MS', 30_000, 1_000, 1_800_000),
    shutdownTimeoutMs: p.integer('CONSUMER_SHUTDOWN_TIMEOUT_MS', 15_000, 1_000, 600_000),
  };
  if (consumer.heartbeatIntervalMs * 3 > consumer.sessionTimeoutMs) {
    p.list.push(
      `CONSUMER_HEARTBEAT_INTERVAL_MS=${consumer.heartbeatIntervalMs} must be at most a third of CONSUMER_SESSION_TIMEOUT_MS=${consumer.sessionTimeoutMs}`,
    );
  }

  const metricsPort = p.optionalInteger('METRICS_PORT', 1, 65_535);
  const observability: ObservabilitySettings = {
    ...(metricsPort === undefined ? {} : { metricsPort }),
    metricsHost: p.string('METRICS_HOST', '127.0.0.1')!,
    healthStallMs: p.integer('HEALTH_STALL_MS', 60_000, 100, 86_400_000),
    lagIntervalMs: p.integer('METRICS_LAG_INTERVAL_MS', 5_000, 100, 3_600_000),
  };

  const schemasDir = schemasDirectory(env);
  const migrationsDir = resolve(projectRoot, p.string('PIPELINE_MIGRATIONS_DIR', 'migrations')!);

  const log = logSettingsFrom(p);

  p.throwIfAny();
  return { log, observability, kafka, registry, database, consumer, schemasDir, migrationsDir };
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function logSettingsFrom(p: Problems): LogSettings {
  const format = p.oneOf('LOG_FORMAT', ['json', 'pretty'] as const);
  return { level: p.oneOf('LOG_LEVEL', LOG_LEVELS) ?? 'info', ...(format ? { format } : {}) };
}

/**
 * `LOG_LEVEL` and `LOG_FORMAT` alone: every command logs, including those that need no service settings.
 */
export function parseLogSettings(env: Env): LogSettings {
  const p = new Problems(env);
  const settings = logSettingsFrom(p);
  p.throwIfAny();
  return settings;
}

export function loadLogSettings(sources: EnvironmentSources = readEnvironment()): LogSettings {
  return parseLogSettings(mergedEnvironment(sources));
}

/**
 * The schemas folder alone (`PIPELINE_SCHEMAS_DIR`, default `<project>/schemas`): for commands such as
 * codegen that need no service and must not require the services' settings.
 */
export function schemasDirectory(env: Env = mergedEnvironment()): string {
  const configured = env.PIPELINE_SCHEMAS_DIR?.trim();
  return resolve(projectRoot, configured === undefined || configured === '' ? 'schemas' : configured);
}

/** Reads the environment once and validates it. */
export function loadConfig(sources: EnvironmentSources = readEnvironment()): PipelineConfig {
  return parseConfig(mergedEnvironment(sources));
}

// ---------------------------------------------------------------------------------------------------------
// The local stack's settings.

export interface StackSettings {
  /** Where data, logs and pid files live. Default `<project>/.stack`. */
  dir: string;
  /** Where the fetched Kafka and Apicurio artifacts are kept. Default `<project>/.stack/cache`. */
  cacheDir: string;
  /** Broker port; default 19092. The KRaft controller listens on `STACK_KAFKA_CONTROLLER_PORT` (19093). */
  kafkaPort: number;
  kafkaControllerPort: number;
  /** Registry HTTP port, default 18081; Quarkus' management port `STACK_REGISTRY_MANAGEMENT_PORT`, 19000. */
  registryPort: number;
  registryManagementPort: number;
  /** PostgreSQL port, default 15432. */
  postgresPort: number;
  /**
   * `STACK_SECURE=true` (default false): a throwaway CA under `<dir>/secure`, the broker's mutual-TLS and
   * SASL_SSL (SCRAM-SHA-512) listeners beside PLAINTEXT, PostgreSQL with TLS; their settings in
   * `<dir>/stack-secure.env`.
   */
  secure: boolean;
  /** The broker's SSL listener (client certificate required), default 19094. */
  kafkaSslPort: number;
  /** The broker's SASL_SSL listener (SCRAM-SHA-512), default 19095. */
  kafkaSaslSslPort: number;
  /** JDK for the broker (17+). Default: `JAVA_HOME`, else `java` on PATH. */
  kafkaJavaHome: string | undefined;
  /** JDK for Apicurio 3.3 (21+). Default: searched in `JAVA_HOME` and /usr/lib/jvm. */
  registryJavaHome: string | undefined;
  /** Seconds each service gets to become ready. Default 120. */
  readyTimeoutSeconds: number;
  /** Services the user configured elsewhere: the stack does not start them. */
  external: { kafka: boolean; registry: boolean; postgres: boolean };
}

export function parseStackSettings(user: Env): StackSettings {
  const p = new Problems(user);
  const port = (name: string, fallback: number) => p.integer(name, fallback, 1024, 65535);
  const settings: StackSettings = {
    dir: stackDirectory(user),
    cacheDir: resolve(projectRoot, p.string('STACK_CACHE_DIR', '.stack/cache')!),
    kafkaPort: port('STACK_KAFKA_PORT', 19092),
    kafkaControllerPort: port('STACK_KAFKA_CONTROLLER_PORT', 19093),
    registryPort: port('STACK_REGISTRY_PORT', 18081),
    registryManagementPort: port('STACK_REGISTRY_MANAGEMENT_PORT', 19000),
    postgresPort: port('STACK_POSTGRES_PORT', 15432),
    secure: p.boolean('STACK_SECURE', false),
    kafkaSslPort: port('STACK_KAFKA_SSL_PORT', 19094),
    kafkaSaslSslPort: port('STACK_KAFKA_SASL_SSL_PORT', 19095),
    kafkaJavaHome: p.string('STACK_KAFKA_JAVA_HOME') ?? p.string('JAVA_HOME'),
    registryJavaHome: p.string('STACK_REGISTRY_JAVA_HOME'),
    readyTimeoutSeconds: p.integer('STACK_READY_TIMEOUT_SECONDS', 120, 5, 3600),
    external: {
      kafka: p.string('KAFKA_BROKERS') !== undefined,
      registry: p.string('SCHEMA_REGISTRY_URL') !== undefined,
      postgres: p.string('DATABASE_URL') !== undefined,
    },
  };
  const ports = [
    settings.kafkaPort,
    settings.kafkaControllerPort,
    settings.registryPort,
    settings.registryManagementPort,
    settings.postgresPort,
    ...(settings.secure ? [settings.kafkaSslPort, settings.kafkaSaslSslPort] : []),
  ];
  if (new Set(ports).size !== ports.length)
    p.list.push(`STACK_*_PORT values must differ (${ports.join(', ')})`);
  p.throwIfAny();
  return settings;
}

export function loadStackSettings(sources: EnvironmentSources = readEnvironment()): StackSettings {
  return parseStackSettings(sources.user);
}

/** True when running under CI (the `CI` variable), for output that should not animate. */
export function isCi(env: Env = process.env): boolean {
  return env.CI !== undefined && env.CI !== '' && env.CI !== 'false';
}
