/**
 * The integrity suite's own Kafka, registry and PostgreSQL, started through the project's stack code with a
 * STACK_DIR and ports of their own: the scenarios kill, freeze and restart them, which must never touch the
 * services anyone else uses.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { parseStackSettings, projectRoot, type StackSettings } from '../../src/config.ts';
import { isAlive, readPid } from '../../src/stack/service-process.ts';
import { stackDown, stackUp } from '../../src/stack/stack.ts';

export interface PrivateStack {
  settings: StackSettings;
  kafkaBrokers: string;
  registryUrl: string;
  databaseUrl: string;
  /** pid of a running service (the leader of its process group). */
  pid(service: 'kafka' | 'registry' | 'postgres'): number;
  /** SIGKILL the whole process group of a service and wait until it is gone. */
  kill(service: 'kafka' | 'registry' | 'postgres'): Promise<void>;
  /** Starts whatever is not running (the project's idempotent stackUp) and waits until ready. */
  up(): Promise<void>;
  /** SIGSTOP / SIGCONT: the process stays, answers nothing, and its connections stay open. */
  freeze(service: 'kafka' | 'registry'): void;
  thaw(service: 'kafka' | 'registry'): void;
  down(): Promise<void>;
}

export interface PrivateStackOptions {
  /** First of five consecutive ports. */
  basePort: number;
  dir?: string;
  log: (line: string) => void;
}

export async function startPrivateStack(options: PrivateStackOptions): Promise<PrivateStack> {
  const base = options.basePort;
  const env: Record<string, string> = {
    STACK_DIR: options.dir ?? join(projectRoot, '.stack', `integrity-${base}`),
    STACK_KAFKA_PORT: String(base),
    STACK_KAFKA_CONTROLLER_PORT: String(base + 1),
    STACK_REGISTRY_PORT: String(base + 2),
    STACK_REGISTRY_MANAGEMENT_PORT: String(base + 3),
    STACK_POSTGRES_PORT: String(base + 4),
  };
  // Only the stack's own variables: KAFKA_BROKERS & co. from the caller would make a service "external".
  for (const name of [
    'STACK_CACHE_DIR',
    'STACK_KAFKA_JAVA_HOME',
    'STACK_REGISTRY_JAVA_HOME',
    'JAVA_HOME',
    'STACK_READY_TIMEOUT_SECONDS',
  ]) {
    const value = process.env[name];
    if (value !== undefined && value !== '') env[name] = value;
  }
  const settings = parseStackSettings(env);
  await stackUp(settings, options.log);
  const written = parseEnv(readFileSync(join(settings.dir, 'stack.env'), 'utf8'));
  const pidFile = (service: string) => join(settings.dir, 'run', `${service}.pid`);
  const pid = (service: 'kafka' | 'registry' | 'postgres') => {
    const value = readPid(pidFile(service));
    if (value === undefined || !isAlive(value))
      throw new Error(`${service} of the private stack is not running`);
    return value;
  };
  const signalGroup = (value: number, signal: NodeJS.Signals) => {
    try {
      process.kill(-value, signal);
    } catch {
      process.kill(value, signal);
    }
  };
  return {
    settings,
    kafkaBrokers: written.KAFKA_BROKERS!,
    registryUrl: written.SCHEMA_REGISTRY_URL!,
    databaseUrl: written.DATABASE_URL!,
    pid,
    async kill(service) {
      const value = pid(service);
      signalGroup(value, 'SIGKILL');
      const deadline = Date.now() + 30_000;
      while (isAlive(value)) {
        if (Date.now() > deadline) throw new Error(`${service} (pid ${value}) survived SIGKILL`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    up: () => stackUp(settings, options.log),
    freeze: (service) => signalGroup(pid(service), 'SIGSTOP'),
    thaw: (service) => signalGroup(pid(service), 'SIGCONT'),
    down: () => stackDown(settings, options.log),
  };
}
