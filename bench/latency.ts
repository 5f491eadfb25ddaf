/**
 * End-to-end latency at a fixed produce rate: the parent paces pre-generated events into a fresh topic; the
 * worker process (latency-worker.ts) commits them with the pipeline and records commit time − CreateTime.
 * The first seconds are a warm-up (JIT, group join, connection pool) and are left out of the percentiles.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as EntryPoint from '../bin/entry-point.js';
import { projectRoot } from '../src/config.ts';
import type { CatalogEntry } from '../src/contracts/catalog.ts';
import { createFakeEvents } from '../src/producer/fake-events.ts';
import type { TypedProducer } from '../src/producer/typed-producer.ts';
import type { DatabaseSpace } from './bench-space.ts';
import { type LatencyBreakdown, type LatencySample, latencyBreakdown } from './latency-breakdown.ts';
import type { LatencySamples, WorkerMessage } from './latency-worker.ts';
import { type Distribution, distribution } from './percentiles.ts';
import { readProcessCpuMs } from './process-cpu.ts';
import { MemorySampler } from './process-memory.ts';
import { sleep, waitUntil, withTimeout } from './wait-until.ts';

export interface LatencyOptions {
  /** `default` settings, or `tuned`. */
  label: string;
  entry: CatalogEntry;
  database: DatabaseSpace;
  groupId: string;
  schemasDir: string;
  producer: TypedProducer;
  ratePerSecond: number;
  warmupSeconds: number;
  seconds: number;
  settingsEnv: Record<string, string>;
  /**
   * The checkout whose latency worker runs (its dist/ when current, as `entryPoint` chooses); this one when
   * undefined. Lets bench/steady-rss.ts compare two builds back to back.
   */
  workerRoot?: string;
}

export interface LatencyResult {
  label: string;
  targetRate: number;
  /** Events sent per second over the measured window. */
  achievedRate: number;
  sent: number;
  /** commit − CreateTime of the events created in the measured window, ms. */
  latencyMs: Distribution;
  /** What the measured latencies are made of (fetch, before the write, the write). */
  breakdown: LatencyBreakdown;
  /** Median RSS of the consumer process during the measured window (the steady state), MB. */
  steadyRssMb: number;
  /** Highest RSS sampled during the measured window, MB. */
  steadyMaxRssMb: number;
  /** Peak RSS of the process over its life (VmHWM: start-up and warm-up included), MB. */
  peakRssMb: number;
  /**
   * User + system CPU time of the consumer process over the measured window ÷ events sent in it, µs (NaN
   * without /proc): what its memory settings cost, next to the RSS they buy.
   */
  cpuMicrosPerEvent: number;
  settings: Record<string, string>;
}

/**
 * The worker's messages other than `samples`, one at a time; its samples appended to `into` as they come
 * (the worker keeps none, so that its memory is the consumer's).
 */
function messagesOf(child: ChildProcess, into: LatencySamples): () => Promise<WorkerMessage> {
  const waiting: ((message: WorkerMessage) => void)[] = [];
  const queued: WorkerMessage[] = [];
  child.on('message', (message: WorkerMessage) => {
    if (message.type === 'samples' || message.type === 'result') {
      for (const key of SAMPLE_KEYS) for (const value of message[key]) into[key].push(value);
    }
    if (message.type === 'samples') return;
    const next = waiting.shift();
    if (next) next(message);
    else queued.push(message);
  });
  return () =>
    new Promise((resolve, reject) => {
      const ready = queued.shift();
      if (ready !== undefined) return resolve(ready);
      const onExit = (code: number | null) => reject(new Error(`latency worker exited with ${code}`));
      child.once('exit', onExit);
      waiting.push((message) => {
        child.off('exit', onExit);
        resolve(message);
      });
    });
}

const SAMPLE_KEYS = [
  'latencies',
  'createTimes',
  'fetchStartedAfter',
  'fetchedAfter',
  'writeStartedAfter',
  'writeMs',
] as const satisfies readonly (keyof LatencySamples)[];

export async function measureLatency(options: LatencyOptions): Promise<LatencyResult> {
  const { entry, ratePerSecond, database } = options;
  const totalSeconds = options.warmupSeconds + options.seconds;
  // Generated before anything is timed, so that generating never slows the pacing down.
  const events = createFakeEvents(entry).take(Math.ceil(ratePerSecond * totalSeconds));

  // Compiled when dist/ is current, as `pipeline consume` runs: the loader would add its own memory.
  // Loaded by path: bin/ is plain JavaScript outside the compiled tree.
  const { entryPoint } = (await import(
    pathToFileURL(join(projectRoot, 'bin', 'entry-point.js')).href
  )) as typeof EntryPoint;
  const worker = entryPoint('bench/latency-worker.ts', options.workerRoot);
  const child = fork(worker.path, [entry.topic], {
    execArgv: worker.execArgv,
    env: {
      ...process.env,
      ...options.settingsEnv,
      DATABASE_SCHEMA: database.schema,
      CONSUMER_GROUP_ID: options.groupId,
      PIPELINE_SCHEMAS_DIR: options.schemasDir,
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let sampler: MemorySampler | undefined;
  let stopped = false;
  const recorded: LatencySamples = {
    latencies: [],
    createTimes: [],
    fetchStartedAfter: [],
    fetchedAfter: [],
    writeStartedAfter: [],
    writeMs: [],
  };
  const nextMessage = messagesOf(child, recorded);
  try {
    const ready = await withTimeout(nextMessage(), 60_000, () => 'the latency worker to join its group');
    if (ready.type !== 'ready')
      throw new Error(`latency worker: ${ready.type === 'failed' ? ready.error : ready.type}`);
    sampler = new MemorySampler(child.pid ?? -1, 500);

    // Paced every few milliseconds rather than in one burst a second: what a steady stream of events is.
    const started = performance.now();
    const measureFromEpoch = Date.now() + options.warmupSeconds * 1000;
    const measureFrom = started + options.warmupSeconds * 1000;
    let sent = 0;
    let sentAtMeasureStart = 0;
    let cpuAtMeasureStart = Number.NaN;
    for (;;) {
      const elapsed = performance.now() - started;
      if (elapsed >= totalSeconds * 1000) break;
      if (sentAtMeasureStart === 0 && performance.now() >= measureFrom) {
        sentAtMeasureStart = sent;
        cpuAtMeasureStart = readProcessCpuMs(child.pid ?? -1) ?? Number.NaN;
      }
      const due = Math.min(events.length, Math.floor((elapsed / 1000) * ratePerSecond));
      if (due > sent) {
        await options.producer.sendUnchecked(entry.topic, undefined, events.slice(sent, due));
        sent = due;
      } else {
        await sleep(5);
      }
    }
    const measureTo = performance.now();
    const cpuAtMeasureEnd = readProcessCpuMs(child.pid ?? -1) ?? Number.NaN;
    const achievedRate = (sent - sentAtMeasureStart) / ((measureTo - measureFrom) / 1000);
    await waitUntil(
      `the latency worker to commit ${sent} events`,
      async () =>
        (await database.committedMessages(options.groupId, entry.topic)) >= sent ? true : undefined,
      { timeoutMs: 60_000 },
    );
    sampler.stop();
    const resultPromise = nextMessage();
    child.send({ type: 'stop' });
    stopped = true;
    const result = await withTimeout(resultPromise, 30_000, () => 'the latency worker to stop');
    if (result.type !== 'result') throw new Error(`latency worker: ${result.type}`);
    const measured: number[] = [];
    const samples: LatencySample[] = [];
    for (let i = 0; i < recorded.latencies.length; i++) {
      if (recorded.createTimes[i]! < measureFromEpoch) continue;
      measured.push(recorded.latencies[i]!);
      // NaN crosses the IPC channel (JSON) as null.
      const fetchStarted = recorded.fetchStartedAfter[i] ?? Number.NaN;
      const fetched = recorded.fetchedAfter[i] ?? Number.NaN;
      // A message produced while the fetch already waited at the broker did not wait for the consumer.
      const waited = Math.max(0, fetchStarted);
      samples.push({
        latencyMs: recorded.latencies[i]!,
        waitMs: waited,
        fetchMs: fetched - waited,
        beforeWriteMs: recorded.writeStartedAfter[i] ?? Number.NaN,
        writeMs: recorded.writeMs[i] ?? Number.NaN,
      });
    }
    return {
      label: options.label,
      targetRate: ratePerSecond,
      achievedRate,
      sent,
      latencyMs: distribution(measured),
      breakdown: latencyBreakdown(samples),
      steadyRssMb: sampler.medianBetween(measureFrom, measureTo),
      steadyMaxRssMb: sampler.maxBetween(measureFrom, measureTo),
      peakRssMb: sampler.peakMb,
      cpuMicrosPerEvent: ((cpuAtMeasureEnd - cpuAtMeasureStart) * 1000) / (sent - sentAtMeasureStart),
      settings: options.settingsEnv,
    };
  } finally {
    sampler?.stop();
    if (child.exitCode === null) {
      // After `stop` the worker leaves its group and exits by itself; after a failure here, it is told to.
      if (!stopped) child.kill('SIGTERM');
      const exit = new Promise((resolve) => child.once('exit', resolve));
      await withTimeout(exit, 15_000, () => 'the latency worker to exit').catch(() => child.kill('SIGKILL'));
    }
  }
}
