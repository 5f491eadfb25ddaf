/**
 * Runs `pipeline consume` as its own process, as it runs in production, so that its memory is its own:
 * timed from spawn until the offsets table says every expected message is committed, with the process' RSS
 * sampled all along, and its CPU time (user + system, /proc/<pid>/stat) read at the first committed row and
 * when the last is committed: the consumer's CPU per event over the drain. Stopped with SIGTERM afterwards
 * (its graceful path).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../src/config.ts';
import type { DatabaseSpace } from './bench-space.ts';
import { readMachineCpu } from './machine-cpu.ts';
import { readProcessCpuMs } from './process-cpu.ts';
import { MemorySampler } from './process-memory.ts';
import { monotonicMicros, type ProfileWindow } from './profile-summary.ts';
import type { ThroughputResult } from './raw-consume.ts';
import { sleep, withTimeout } from './wait-until.ts';

export interface PipelineRunOptions {
  label: string;
  topic: string;
  groupId: string;
  database: DatabaseSpace;
  schemasDir: string;
  /** Messages in the topic: done when the group's stored next offsets add up to this. */
  expected: number;
  writeStrategy?: 'copy' | 'unnest';
  /** Environment settings of the consumer (CONSUMER_BATCH_MAX_ROWS…). */
  settingsEnv: Record<string, string>;
  timeoutMs: number;
  /** Node flags of the process (e.g. a heap limit), reported with the result. */
  nodeFlags?: string[];
  /** Directory for a V8 CPU profile of the process; none when undefined. */
  cpuProfileDir?: string;
  /** Sampling interval of that profile, µs; V8's default (1,000) when undefined. */
  cpuProfileIntervalUs?: number;
  /** The checkout whose bin/pipeline.js runs; this one when undefined (bench/steady-rss.ts compares two). */
  root?: string;
}

export interface PipelineRunResult extends ThroughputResult {
  label: string;
  /** Process start (node, tsx, start-up gate, group join) until the first committed batch. */
  startupMs: number;
  /** Peak RSS of the process (VmHWM), MB. */
  peakRssMb: number;
  /** Median RSS while rows were being written, MB. */
  medianRssMb: number;
  /**
   * User + system CPU time of the consumer process per event from the first committed row to the last, µs
   * (NaN without /proc). Start-up is left out like in `perSecond`.
   */
  cpuMicrosPerEvent: number;
  /** That CPU time over the same wall time: cores the consumer kept busy. */
  cpuCores: number;
  /** The CPU time itself, ms: below a second the 10 ms ticks make the per-event figure coarse. */
  cpuMs: number;
  /**
   * The whole machine's busy CPU (Kafka, PostgreSQL, the consumer, anything else running) over the same span
   * ÷ events, µs (bench/machine-cpu.ts). Absent in results of older runs.
   */
  machineCpuMicrosPerEvent?: number;
  /** That busy CPU ÷ wall time: cores kept busy; near the machine's count, the run is CPU-bound. */
  machineBusyCores?: number;
  /** Path of the V8 CPU profile the process wrote, when profiled. */
  cpuProfile?: string;
  /** First committed row → last, in the profile's clock: the part of the profile that is the drain. */
  drainWindow: ProfileWindow;
  /** The summary line the process printed at exit. */
  summary: string;
  /** Consumer settings and node flags the process ran with. */
  settings: Record<string, string>;
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

export async function runPipelineProcess(options: PipelineRunOptions): Promise<PipelineRunResult> {
  const { database, expected } = options;
  const profile =
    options.cpuProfileDir === undefined
      ? []
      : [
          '--cpu-prof',
          `--cpu-prof-dir=${options.cpuProfileDir}`,
          `--cpu-prof-name=pipeline-${options.label}.cpuprofile`,
          ...(options.cpuProfileIntervalUs === undefined
            ? []
            : [`--cpu-prof-interval=${options.cpuProfileIntervalUs}`]),
        ];
  const args = [
    ...(options.nodeFlags ?? []),
    ...profile,
    join(options.root ?? projectRoot, 'bin', 'pipeline.js'),
    'consume',
    '--topic',
    options.topic,
    '--progress-seconds',
    '0',
    ...(options.writeStrategy ? ['--write-strategy', options.writeStrategy] : []),
  ];
  // A profile left by an earlier run must not pass for this one's.
  if (options.cpuProfileDir !== undefined)
    rmSync(join(options.cpuProfileDir, `pipeline-${options.label}.cpuprofile`), { force: true });
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, args, {
    env: {
      ...process.env,
      ...options.settingsEnv,
      DATABASE_SCHEMA: database.schema,
      CONSUMER_GROUP_ID: options.groupId,
      PIPELINE_SCHEMAS_DIR: options.schemasDir,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exit = exited(child);
  const sampler = new MemorySampler(child.pid ?? -1);
  let firstAt: number | undefined;
  let firstCommitted = 0;
  let doneAt = 0;
  let cpuAtFirst = Number.NaN;
  let firstUs = 0;
  let doneUs = 0;
  let cpuAtDone = Number.NaN;
  let machineAtFirst = Number.NaN;
  let machineAtDone = Number.NaN;
  let exitCode: number | null = null;
  try {
    const deadline = spawnedAt + options.timeoutMs;
    for (;;) {
      if (child.exitCode !== null) {
        throw new Error(`pipeline ${options.label} exited with ${child.exitCode}:\n${stderr}`);
      }
      const committed = await database.committedMessages(options.groupId, options.topic);
      const now = performance.now();
      if (committed > 0 && firstAt === undefined) {
        cpuAtFirst = readProcessCpuMs(child.pid ?? -1) ?? Number.NaN;
        machineAtFirst = readMachineCpu()?.busyMs ?? Number.NaN;
        firstUs = monotonicMicros();
        firstAt = now;
        firstCommitted = committed;
      }
      if (committed >= expected) {
        cpuAtDone = readProcessCpuMs(child.pid ?? -1) ?? Number.NaN;
        machineAtDone = readMachineCpu()?.busyMs ?? Number.NaN;
        doneUs = monotonicMicros();
        doneAt = now;
        break;
      }
      if (now > deadline) {
        throw new Error(
          `pipeline ${options.label}: ${committed} of ${expected} messages after ${Math.round(options.timeoutMs / 1000)} s\n${stderr}`,
        );
      }
      await sleep(100);
    }
  } finally {
    sampler.stop();
    child.kill('SIGTERM');
    exitCode = await withTimeout(exit, 30_000, () => `pipeline ${options.label} to exit after SIGTERM`).catch(
      (error: unknown) => {
        child.kill('SIGKILL');
        throw error;
      },
    );
  }
  // A consumer that cannot leave cleanly after SIGTERM is a finding, not a detail.
  if (exitCode !== 0) throw new Error(`pipeline ${options.label} exited with ${exitCode}:\n${stderr}`);
  const first = firstAt ?? doneAt;
  const steadyMs = doneAt - first;
  const cpuMs = cpuAtDone - cpuAtFirst;
  return {
    label: options.label,
    events: expected,
    totalMs: doneAt - spawnedAt,
    steadyMs,
    perSecond: (expected - firstCommitted) / (steadyMs / 1000),
    startupMs: first - spawnedAt,
    peakRssMb: sampler.peakMb,
    medianRssMb: sampler.medianBetween(first, doneAt),
    cpuMicrosPerEvent: (cpuMs * 1000) / (expected - firstCommitted),
    cpuCores: cpuMs / steadyMs,
    cpuMs,
    machineCpuMicrosPerEvent: ((machineAtDone - machineAtFirst) * 1000) / (expected - firstCommitted),
    machineBusyCores: (machineAtDone - machineAtFirst) / steadyMs,
    drainWindow: { fromUs: firstUs || doneUs, toUs: doneUs },
    ...(options.cpuProfileDir === undefined
      ? {}
      : { cpuProfile: join(options.cpuProfileDir, `pipeline-${options.label}.cpuprofile`) }),
    summary: stdout.trim().split('\n').at(-1) ?? '',
    settings: {
      ...options.settingsEnv,
      ...(options.nodeFlags?.length ? { node: options.nodeFlags.join(' ') } : {}),
    },
  };
}
