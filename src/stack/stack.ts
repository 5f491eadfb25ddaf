/**
 * The local stack: start, stop and report the services that the user has not pointed elsewhere. Start is
 * idempotent (a running, ready service is kept) and all-or-nothing (a failure stops what this call started).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { type StackSettings, stackEnvFile } from '../config.ts';
import { PipelineError } from '../errors.ts';
import { kafkaService } from './kafka-service.ts';
import type { LocalService } from './local-service.ts';
import { isPortFree } from './port-probe.ts';
import { postgresService } from './postgres-service.ts';
import { registryService } from './registry-service.ts';
import { isAlive, readPid, removeFile, stopProcessGroup, tailOfFile } from './service-process.ts';
import { ensureArtifacts, type StackArtifacts } from './stack-artifacts.ts';
import { ensureStackCertificates } from './stack-certificates.ts';
import { withStackLock } from './stack-lock.ts';

export interface ServiceStatus {
  name: LocalService['name'];
  title: string;
  state: 'external' | 'ready' | 'starting' | 'stopped';
  pid?: number;
  logFile?: string;
}

/** The services this stack runs: those the user did not configure elsewhere. */
export function localServices(
  settings: StackSettings,
  log: (line: string) => void = () => undefined,
): LocalService[] {
  let artifacts: StackArtifacts | undefined;
  const fetchOnce = () => {
    artifacts ??= ensureArtifacts(settings.cacheDir, log);
    return artifacts;
  };
  const services: LocalService[] = [];
  if (!settings.external.kafka) services.push(kafkaService(settings, fetchOnce));
  if (!settings.external.registry) services.push(registryService(settings, fetchOnce));
  if (!settings.external.postgres) services.push(postgresService(settings));
  return services;
}

async function waitUntilReady(service: LocalService, pid: number, timeoutSeconds: number): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  while (Date.now() < deadline) {
    // Alive first: a port answered by some other process must not pass for this one being ready.
    if (!isAlive(pid)) {
      throw new PipelineError(
        'STACK_START_FAILED',
        `${service.title} exited during start-up. Last lines of ${service.logFile}:\n${tailOfFile(service.logFile)}`,
      );
    }
    if (await service.ready()) return;
    await delay(250);
  }
  throw new PipelineError(
    'STACK_START_FAILED',
    `${service.title} did not become ready within ${timeoutSeconds} s (raise STACK_READY_TIMEOUT_SECONDS on a slow machine). Last lines of ${service.logFile}:\n${tailOfFile(service.logFile)}`,
  );
}

async function startOne(
  service: LocalService,
  settings: StackSettings,
  log: (line: string) => void,
  onSpawned: () => void,
): Promise<void> {
  const existing = readPid(service.pidFile);
  if (existing !== undefined && isAlive(existing)) {
    await waitUntilReady(service, existing, settings.readyTimeoutSeconds);
    log(`${service.title} already running (pid ${existing})`);
    return;
  }
  removeFile(service.pidFile);
  for (const { port, variable } of service.ports) {
    if (!(await isPortFree(port))) {
      throw new PipelineError(
        'STACK_PORT_TAKEN',
        `port ${port} for ${service.title} is taken by another process: stop it, or set ${variable} to a free port`,
      );
    }
  }
  const started = Date.now();
  onSpawned();
  await service.start(log);
  const pid = readPid(service.pidFile);
  if (pid === undefined) throw new PipelineError('STACK_START_FAILED', `${service.title} wrote no pid file`);
  await waitUntilReady(service, pid, settings.readyTimeoutSeconds);
  log(
    `${service.title} ready in ${((Date.now() - started) / 1000).toFixed(1)} s (pid ${pid}, log ${service.logFile})`,
  );
}

async function stopOne(service: LocalService): Promise<boolean> {
  const pid = readPid(service.pidFile);
  if (pid === undefined) return false;
  const wasAlive = isAlive(pid);
  if (wasAlive) await stopProcessGroup(pid, service.stopSignal, 30_000);
  removeFile(service.pidFile);
  return wasAlive;
}

/**
 * Starts every local service and waits until each answers a real request, then writes stack.env. JVM
 * services start in parallel with PostgreSQL: on two cores the broker and the registry dominate anyway.
 */
export function stackUp(settings: StackSettings, log: (line: string) => void): Promise<void> {
  return withStackLock(settings.dir, settings.readyTimeoutSeconds * 1000 * 3, () => startAll(settings, log));
}

async function startAll(settings: StackSettings, log: (line: string) => void): Promise<void> {
  const services = localServices(settings, log);
  mkdirSync(settings.dir, { recursive: true });
  // Fetch before starting anything, so that a download failure leaves nothing behind.
  if (services.some((s) => s.name !== 'postgres')) ensureArtifacts(settings.cacheDir, log);
  // Before the services start in parallel, so that they all present certificates of the same CA.
  if (settings.secure) ensureStackCertificates(settings.dir);
  const spawnedHere: LocalService[] = [];
  const results = await Promise.allSettled(
    services.map((service) => startOne(service, settings, log, () => spawnedHere.push(service))),
  );
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) {
    // Nothing half-started: stop what this call started; a service that was already running stays.
    await Promise.all(spawnedHere.map(stopOne));
    throw failure.reason;
  }
  writeStackEnv(settings, services);
  writeSecureEnv(settings, services);
}

/** Where STACK_SECURE=true writes how to reach the TLS endpoints (the tests read it). */
export function stackSecureEnvFile(settings: StackSettings): string {
  return join(settings.dir, 'stack-secure.env');
}

function writeSecureEnv(settings: StackSettings, services: LocalService[]): void {
  const file = stackSecureEnvFile(settings);
  if (!settings.secure) {
    removeFile(file);
    return;
  }
  const lines = [
    '# Written by `npm run stack:up` with STACK_SECURE=true: the TLS endpoints of the local services.',
    `STACK_SECURE_CA_FILE=${ensureStackCertificates(settings.dir).caFile}`,
  ];
  for (const service of services) {
    for (const [key, value] of Object.entries(service.secureConnection?.() ?? {}))
      lines.push(`${key}=${value}`);
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
}

function writeStackEnv(settings: StackSettings, services: LocalService[]): void {
  const file = stackEnvFile({ STACK_DIR: settings.dir });
  mkdirSync(dirname(file), { recursive: true });
  const lines = ['# Written by `npm run stack:up` for the local services; removed by `npm run stack:down`.'];
  for (const service of services) {
    for (const [key, value] of Object.entries(service.connection())) lines.push(`${key}=${value}`);
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
}

export function stackDown(settings: StackSettings, log: (line: string) => void): Promise<void> {
  return withStackLock(settings.dir, settings.readyTimeoutSeconds * 1000 * 3, () => stopAll(settings, log));
}

async function stopAll(settings: StackSettings, log: (line: string) => void): Promise<void> {
  // Even a service now configured as external may have been started earlier by the stack: stop all three.
  const all = localServices({ ...settings, external: { kafka: false, registry: false, postgres: false } });
  // Reverse start order, concurrently: nothing depends on anything else at shutdown.
  await Promise.all(
    all.map(async (service) => {
      if (await stopOne(service)) log(`${service.title} stopped`);
    }),
  );
  removeFile(stackEnvFile({ STACK_DIR: settings.dir }));
  removeFile(stackSecureEnvFile(settings));
}

export async function stackStatus(settings: StackSettings): Promise<ServiceStatus[]> {
  const local = localServices(settings);
  const statuses: ServiceStatus[] = [];
  for (const name of ['kafka', 'registry', 'postgres'] as const) {
    const service = local.find((s) => s.name === name);
    if (service === undefined) {
      statuses.push({ name, title: name, state: 'external' });
      continue;
    }
    const pid = readPid(service.pidFile);
    const alive = pid !== undefined && isAlive(pid);
    const state = !alive ? 'stopped' : (await service.ready()) ? 'ready' : 'starting';
    statuses.push({ name, title: service.title, state, logFile: service.logFile, ...(alive ? { pid } : {}) });
  }
  return statuses;
}
