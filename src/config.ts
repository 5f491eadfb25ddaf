/**
 * The only module that reads `process.env`. Everything else receives a validated, typed configuration.
 *
 * Sources, first wins: the process environment, then `.env` in the working directory (the user's own
 * settings), then `.stack/stack.env` (written by `npm run stack:up` for the local services). A service named
 * by the first two is "external": the local stack leaves it alone.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { ConfigurationError } from './errors.ts';

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
  try {
    return parseEnv(readFileSync(path, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ConfigurationError([`cannot read ${path}: ${(error as Error).message}`], { cause: error });
  }
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
  /** PEM of the CA the server certificate must chain to. Verification is never turned off. */
  ca: string;
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
  /** Where a new group starts: the earliest offset (default true) or the latest. */
  fromBeginning: boolean;
  /** Partition batches written at the same time, each in its own transaction. Default 4. */
  partitionConcurrency: number;
  /**
   * Kafka group session timeout. Default 30 s. A member that died without leaving holds its partitions
   * this long: lower it (the broker's minimum is 6 s) where crashed members must be replaced quickly.
   */
  sessionTimeoutMs: number;
}

export interface PipelineConfig {
  kafka: KafkaSettings;
  registry: RegistrySettings;
  database: DatabaseSettings;
  consumer: ConsumerSettings;
  /** Folder of the `.avsc` files and `catalog.json`. Default `<project>/schemas`. */
  schemasDir: string;
  /** Folder of the node-pg-migrate migrations. Default `<project>/migrations`. */
  migrationsDir: string;
}

const HINT_STACK = 'run `npm run stack:up`, or set it to your own service';

function isLoopbackUrl(value: string): boolean {
  try {
    const host = new URL(value).hostname;
    return host === 'localhost' || host === '[::1]' || host.startsWith('127.');
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
    if (!/^[^\s:]+:\d{1,5}$/.test(broker)) p.list.push(`KAFKA_BROKERS: "${broker}" is not host:port`);
  }
  const kafka: KafkaSettings = { brokers, clientId: p.string('KAFKA_CLIENT_ID', 'schema-first-pipeline')! };
  const kafkaCa = p.file('KAFKA_CA_FILE');
  const kafkaCert = p.file('KAFKA_CERT_FILE');
  const kafkaKey = p.file('KAFKA_KEY_FILE');
  if ((kafkaCert === undefined) !== (kafkaKey === undefined) && p.string('KAFKA_CERT_FILE') !== undefined) {
    p.list.push('KAFKA_CERT_FILE and KAFKA_KEY_FILE go together');
  }
  if (kafkaCa !== undefined) {
    kafka.tls = {
      ca: kafkaCa,
      ...(kafkaCert ? { cert: kafkaCert } : {}),
      ...(kafkaKey ? { key: kafkaKey } : {}),
    };
  } else if (p.string('KAFKA_CERT_FILE') !== undefined) {
    p.list.push('KAFKA_CERT_FILE needs KAFKA_CA_FILE: the broker certificate is always verified');
  }
  const mechanism = p.oneOf('KAFKA_SASL_MECHANISM', ['scram-sha-256', 'scram-sha-512', 'plain'] as const);
  if (mechanism !== undefined) {
    kafka.sasl = {
      mechanism,
      username: p.required('KAFKA_SASL_USERNAME', 'needed with KAFKA_SASL_MECHANISM'),
      password: p.required('KAFKA_SASL_PASSWORD', 'needed with KAFKA_SASL_MECHANISM'),
    };
    if (kafka.tls === undefined)
      p.list.push('KAFKA_SASL_MECHANISM needs KAFKA_CA_FILE: credentials only over TLS');
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
  if (databaseUrl !== '') {
    const url = p.url('DATABASE_URL', databaseUrl, ['postgres:', 'postgresql:']);
    // node-postgres lets TLS parameters in the URL replace the ssl object entirely, and some of them turn
    // verification off (ssl=no-verify, sslmode=require|prefer with uselibpqcompat). One way only: sslmode
    // verify-full (system CAs) or disable in the URL, or DATABASE_CA_FILE (verify-full against that CA).
    for (const name of ['ssl', 'uselibpqcompat', 'sslrootcert', 'sslcert', 'sslkey']) {
      if (url?.searchParams.has(name)) {
        p.list.push(`DATABASE_URL: the "${name}" parameter is refused; use DATABASE_CA_FILE (verify-full)`);
      }
    }
    const sslmode = url?.searchParams.get('sslmode');
    if (sslmode !== null && sslmode !== undefined) {
      if (databaseCa !== undefined) {
        p.list.push('DATABASE_URL has sslmode and DATABASE_CA_FILE is set: choose one way to configure TLS');
      } else if (sslmode !== 'verify-full' && sslmode !== 'disable') {
        p.list.push(
          `DATABASE_URL: sslmode=${sslmode} is refused (it may not verify the server); use verify-full or DATABASE_CA_FILE`,
        );
      }
    }
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
    fromBeginning: p.boolean('CONSUMER_FROM_BEGINNING', true),
    partitionConcurrency: p.integer('CONSUMER_PARTITION_CONCURRENCY', 4, 1, 64),
    sessionTimeoutMs: p.integer('CONSUMER_SESSION_TIMEOUT_MS', 30_000, 6_000, 300_000),
  };

  const schemasDir = schemasDirectory(env);
  const migrationsDir = resolve(projectRoot, p.string('PIPELINE_MIGRATIONS_DIR', 'migrations')!);

  p.throwIfAny();
  return { kafka, registry, database, consumer, schemasDir, migrationsDir };
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
