/**
 * The benchmark's options, from flags first, then environment variables (`BENCH_EVENTS`…), then defaults.
 * `--quick` shrinks every size to a smoke run; explicit sizes still win over it.
 */
import { parseArgs } from 'node:util';

export interface BenchOptions {
  /** Page views replayed from a backlog by the raw limits and the pipeline modes. */
  events: number;
  /** Messages the per-message (seed) baseline writes. */
  baselineEvents: number;
  /** Order events of the upsert mode (several versions per key). */
  upsertEvents: number;
  /** Events each producer (Avro, JSON) sends. */
  producerEvents: number;
  /** Produce rates of the latency mode, events/s. */
  latencyRates: number[];
  /** Seconds each latency rate is measured, after its warm-up. */
  latencySeconds: number;
  /** Partitions of every topic the benchmark creates. */
  partitions: number;
  /**
   * Write V8 CPU profiles of the pipeline processes into bench/results and summarise them in the report. On
   * by default: at a 4 ms interval the profiler's cost is within the noise (0.99–1.07× the CPU per event in
   * quick runs), and measured in every run (the COPY mode runs once without it, once under it).
   * `--no-cpu-prof` turns it off.
   */
  cpuProfile: boolean;
  /** Sampling interval of those profiles, µs (V8's default is 1,000). */
  cpuProfileIntervalUs: number;
  /** Page views and orders of the transcode measurement (`npm run bench:transcode`); 0 page views: skipped. */
  transcodePageViews: number;
  transcodeOrders: number;
  quick: boolean;
}

const USAGE = `npm run bench -- [--quick] [--events N] [--baseline-events N] [--upsert-events N]
                  [--producer-events N] [--latency-rates 1000,10000] [--latency-seconds S]
                  [--no-cpu-prof] [--cpu-prof-interval US] [--transcode-events N] [--transcode-orders N]`;

/**
 * 4 ms between samples rather than V8's 1 ms: a 1M-event replay still gets thousands of samples (groups of a
 * few percent are resolved), at a quarter of the sampling interrupts.
 */
export const DEFAULT_PROFILE_INTERVAL_US = 4000;

function whole(name: string, raw: string | undefined, fallback: number, min = 1): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw.replaceAll('_', ''));
  if (!Number.isSafeInteger(value) || value < min) {
    throw new Error(`${name} must be a whole number of at least ${min}, not "${raw}"\nusage: ${USAGE}`);
  }
  return value;
}

export function parseBenchOptions(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      events: { type: 'string' },
      'baseline-events': { type: 'string' },
      'upsert-events': { type: 'string' },
      'producer-events': { type: 'string' },
      'latency-rates': { type: 'string' },
      'latency-seconds': { type: 'string' },
      // Accepted for the commands written before profiling was the default.
      'cpu-prof': { type: 'boolean', default: false },
      'no-cpu-prof': { type: 'boolean', default: false },
      'cpu-prof-interval': { type: 'string' },
      'transcode-events': { type: 'string' },
      'transcode-orders': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) throw new Error(`usage: ${USAGE}`);
  const quick = values.quick || env.BENCH_QUICK === '1';
  const rates = (values['latency-rates'] ?? env.BENCH_LATENCY_RATES ?? '1000,10000')
    .split(',')
    .map((r) => whole('--latency-rates', r, 0));
  return {
    quick,
    events: whole('--events', values.events ?? env.BENCH_EVENTS, quick ? 50_000 : 1_000_000),
    baselineEvents: whole(
      '--baseline-events',
      values['baseline-events'] ?? env.BENCH_BASELINE_EVENTS,
      quick ? 5_000 : 20_000,
    ),
    upsertEvents: whole(
      '--upsert-events',
      values['upsert-events'] ?? env.BENCH_UPSERT_EVENTS,
      quick ? 20_000 : 200_000,
    ),
    producerEvents: whole(
      '--producer-events',
      values['producer-events'] ?? env.BENCH_PRODUCER_EVENTS,
      quick ? 20_000 : 200_000,
    ),
    latencyRates: rates,
    latencySeconds: whole(
      '--latency-seconds',
      values['latency-seconds'] ?? env.BENCH_LATENCY_SECONDS,
      quick ? 5 : 20,
    ),
    partitions: 4,
    cpuProfile: !values['no-cpu-prof'] && env.BENCH_CPU_PROF !== '0',
    cpuProfileIntervalUs: whole(
      '--cpu-prof-interval',
      values['cpu-prof-interval'] ?? env.BENCH_CPU_PROF_INTERVAL,
      DEFAULT_PROFILE_INTERVAL_US,
    ),
    transcodePageViews: whole(
      '--transcode-events',
      values['transcode-events'] ?? env.BENCH_TRANSCODE_EVENTS,
      quick ? 50_000 : 1_000_000,
      0,
    ),
    transcodeOrders: whole(
      '--transcode-orders',
      values['transcode-orders'] ?? env.BENCH_TRANSCODE_ORDERS,
      quick ? 10_000 : 200_000,
    ),
  };
}
