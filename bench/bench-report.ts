/**
 * The results of one run, the targets judged from them, and their Markdown form (bench/results/latest.md,
 * the table docs/performance.md quotes). Every number here comes from the run; nothing is typed in.
 */
import type { BenchOptions } from './bench-options.ts';
import type { LatencyResult } from './latency.ts';
import type { MachineInfo } from './machine-info.ts';
import type { PipelineRunResult } from './pipeline-process.ts';
import type { ProducerResult } from './producer-comparison.ts';
import type { ThroughputResult } from './raw-consume.ts';
import type { RawCopyResult } from './raw-copy.ts';

export interface BenchResults {
  startedAt: string;
  finishedAt: string;
  options: BenchOptions;
  machine: MachineInfo;
  /** Load average (1, 5, 15 min) when the run ended; `machine.loadAverage` is at its start. */
  loadAverageAtEnd: number[];
  consumerSettings: Record<string, string>;
  /** The settings of the `tuned` runs. */
  tunedSettings: Record<string, string>;
  backlogProduce: { events: number; ms: number; bytes: number };
  rawConsume: ThroughputResult;
  rawCopy: RawCopyResult;
  pipelineCopy: PipelineRunResult;
  pipelineUnnest: PipelineRunResult;
  /** COPY again, with the tuned settings. */
  pipelineTuned: PipelineRunResult;
  upsert: PipelineRunResult & { rows: number };
  baseline: ThroughputResult;
  latency: LatencyResult[];
  producers: ProducerResult[];
  targets: TargetResult[];
}

export interface TargetResult {
  target: string;
  measured: string;
  /** Measured over the target's bound, as a ratio where higher is better for throughput targets. */
  ratio: number;
  met: boolean;
}

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const fixed = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
const seconds = (ms: number) => `${fixed(ms / 1000, 1)} s`;
const mb = (n: number) => (Number.isFinite(n) ? `${Math.round(n)} MB` : 'n/a');

export function slowerRawLimit(results: Pick<BenchResults, 'rawConsume' | 'rawCopy'>): number {
  return Math.min(results.rawConsume.perSecond, results.rawCopy.perSecond);
}

export function evaluateTargets(results: Omit<BenchResults, 'targets' | 'finishedAt' | 'loadAverageAtEnd'>) {
  const limit = slowerRawLimit(results);
  const targets: TargetResult[] = [];
  for (const [name, run] of [
    ['default', results.pipelineCopy],
    ['tuned', results.pipelineTuned],
  ] as const) {
    const ratio = run.perSecond / limit;
    targets.push({
      target: `pipeline (COPY, ${name}) ≥ 0.7 × slower raw limit (aim 0.85)`,
      measured: `${int(run.perSecond)} vs ${int(limit)} events/s`,
      ratio,
      met: ratio >= 0.7,
    });
  }
  const bulk = results.pipelineCopy.perSecond / results.baseline.perSecond;
  targets.push({
    target: 'bulk path (COPY, default) ≥ 15 × per-message baseline',
    measured: `${int(results.pipelineCopy.perSecond)} vs ${int(results.baseline.perSecond)} events/s`,
    ratio: bulk,
    met: bulk >= 15,
  });
  const fastestRate = Math.max(...results.latency.map((l) => l.targetRate));
  for (const run of results.latency.filter((l) => l.targetRate === fastestRate)) {
    targets.push({
      target: `p99 latency ≤ 100 ms at ${int(run.targetRate)} events/s (${run.label})`,
      measured: `p99 ${int(run.latencyMs.p99)} ms (achieved ${int(run.achievedRate)} events/s)`,
      ratio: run.latencyMs.p99 / 100,
      met: run.latencyMs.p99 <= 100 && run.achievedRate >= 0.95 * run.targetRate,
    });
  }
  for (const run of results.latency.filter((l) => l.targetRate === fastestRate)) {
    targets.push({
      target: `consumer RSS ≤ 150 MB steady (live ${int(run.targetRate)} events/s, ${run.label})`,
      measured: `max ${mb(run.steadyMaxRssMb)}, median ${mb(run.steadyRssMb)}`,
      ratio: run.steadyMaxRssMb / 150,
      met: run.steadyMaxRssMb <= 150,
    });
  }
  const replayPeak = Math.max(
    results.pipelineCopy.peakRssMb,
    results.pipelineUnnest.peakRssMb,
    results.upsert.peakRssMb,
  );
  targets.push({
    target: 'consumer RSS ≤ 256 MB replaying a backlog (default)',
    measured: `peak ${mb(replayPeak)} (VmHWM, max of COPY/unnest/upsert)`,
    ratio: replayPeak / 256,
    met: replayPeak <= 256,
  });
  targets.push({
    target: 'consumer RSS ≤ 256 MB replaying a backlog (tuned)',
    measured: `peak ${mb(results.pipelineTuned.peakRssMb)} (VmHWM, COPY)`,
    ratio: results.pipelineTuned.peakRssMb / 256,
    met: results.pipelineTuned.peakRssMb <= 256,
  });
  return targets;
}

function settingsText(settings: Record<string, string>): string {
  return Object.entries(settings)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}

function throughputRow(
  mode: string,
  result: ThroughputResult,
  limit: number,
  extra: { wall?: number; peak?: number; median?: number; note?: string },
): string {
  return `| ${mode} | ${int(result.events)} | ${int(result.perSecond)} | ${fixed(result.perSecond / limit)} | ${
    extra.wall === undefined ? '' : seconds(extra.wall)
  } | ${extra.peak === undefined ? '' : mb(extra.peak)} | ${extra.median === undefined ? '' : mb(extra.median)} | ${
    extra.note ?? ''
  } |`;
}

export function renderMarkdown(results: BenchResults): string {
  const m = results.machine;
  const limit = slowerRawLimit(results);
  const s = results.consumerSettings;
  const lines = [
    `Run ${results.startedAt} → ${results.finishedAt}; ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGb} GB, Node ${m.node}, Kafka ${m.kafka}, PostgreSQL ${m.postgres}; load average ${m.loadAverage.join(' / ')} at start, ${results.loadAverageAtEnd.join(' / ')} at end (Kafka and PostgreSQL on the same machine).`,
    '',
    `Default settings: ${settingsText(s)}; ${results.options.partitions} partitions per topic. Tuned: ${settingsText(
      results.tunedSettings,
    )}.`,
    '',
    '**Throughput** (events/s from the first committed row to the last: start-up excluded; `× limit` is the ratio to the slower raw limit of this run)',
    '',
    '| mode | events | events/s | × limit | wall (incl. start-up) | peak RSS | median RSS | notes |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    throughputRow('raw consume limit (kafkajs eachBatch, no decode, no DB)', results.rawConsume, limit, {
      wall: results.rawConsume.totalMs,
    }),
    throughputRow(
      `raw COPY limit (rows pre-built, ${int(results.rawCopy.batchRows)}-row COPYs)`,
      results.rawCopy,
      limit,
      { note: `${results.rawCopy.connections} connections` },
    ),
    throughputRow('pipeline, insert, COPY', results.pipelineCopy, limit, {
      wall: results.pipelineCopy.totalMs,
      peak: results.pipelineCopy.peakRssMb,
      median: results.pipelineCopy.medianRssMb,
      note: `start-up ${seconds(results.pipelineCopy.startupMs)}`,
    }),
    throughputRow('pipeline, insert, unnest', results.pipelineUnnest, limit, {
      wall: results.pipelineUnnest.totalMs,
      peak: results.pipelineUnnest.peakRssMb,
      median: results.pipelineUnnest.medianRssMb,
      note: `start-up ${seconds(results.pipelineUnnest.startupMs)}`,
    }),
    throughputRow('pipeline, insert, COPY, tuned', results.pipelineTuned, limit, {
      wall: results.pipelineTuned.totalMs,
      peak: results.pipelineTuned.peakRssMb,
      median: results.pipelineTuned.medianRssMb,
      note: `start-up ${seconds(results.pipelineTuned.startupMs)}`,
    }),
    throughputRow('pipeline, upsert (orders)', results.upsert, limit, {
      wall: results.upsert.totalMs,
      peak: results.upsert.peakRssMb,
      median: results.upsert.medianRssMb,
      note: `${int(results.upsert.rows)} rows (several versions per key); other record type`,
    }),
    throughputRow('baseline: eachMessage, one INSERT + commit per row', results.baseline, limit, {
      wall: results.baseline.totalMs,
      note: `bulk/baseline = ${fixed(results.pipelineCopy.perSecond / results.baseline.perSecond, 1)}×`,
    }),
    '',
    '**Latency** (producer CreateTime → row committed, events created after the warm-up)',
    '',
    '| settings | rate (events/s) | achieved | events | p50 | p99 | p99.9 | max | RSS median | RSS max (window) | RSS peak (life) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...results.latency.map(
      (l) =>
        `| ${l.label} | ${int(l.targetRate)} | ${int(l.achievedRate)} | ${int(l.latencyMs.count)} | ${int(l.latencyMs.p50)} ms | ${int(
          l.latencyMs.p99,
        )} ms | ${int(l.latencyMs.p999)} ms | ${int(l.latencyMs.max)} ms | ${mb(l.steadyRssMb)} | ${mb(
          l.steadyMaxRssMb,
        )} | ${mb(l.peakRssMb)} |`,
    ),
    '',
    '**Producer** (ready events; idempotent, acks=all, gzip, 5,000 per request)',
    '',
    '| producer | events | events/s | value bytes/event | stored bytes/event (gzip) |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...results.producers.map(
      (p) =>
        `| ${p.format === 'avro' ? 'TypedProducer (validate + Avro wire format)' : 'JSON.stringify'} | ${int(p.events)} | ${int(
          p.perSecond,
        )} | ${fixed(p.bytesPerEvent, 1)} | ${p.storedBytesPerEvent === undefined ? 'n/a' : fixed(p.storedBytesPerEvent, 1)} |`,
    ),
    '',
    '**Targets**',
    '',
    '| target | measured | ratio | met |',
    '| --- | --- | ---: | --- |',
    ...results.targets.map(
      (t) => `| ${t.target} | ${t.measured} | ${fixed(t.ratio)} | ${t.met ? 'met' : 'missed'} |`,
    ),
    '',
  ];
  return lines.join('\n');
}
