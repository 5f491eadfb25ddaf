/**
 * `node --import tsx bench/steady-rss.ts [rate] [seconds] [variant…]`: the latency scenario's consumer
 * (bench/latency-worker.ts, compiled when dist/ is current) at a fixed rate, once per variant back to back in
 * one run, so that the steady RSS and the CPU per event of each are read as ratios on a shared machine. A
 * variant is `label=NODE_OPTIONS` (e.g. `semi8=--max-semi-space-size=8`; `NAME=value` words are environment
 * variables, e.g. `arena2=MALLOC_ARENA_MAX=2`), or `label@/other/checkout=…` to run
 * another checkout's worker (a build before a change); `default=` is the process as the bench runs it. Each
 * variant has its own topic, schema and group, dropped after it. `drain` as the rate replays a backlog of
 * `seconds` × 10,000 page views through `pipeline consume` instead (CPU per event of a drain).
 *
 * With STEADY_RSS_PROBE_DIR set, each process loads bench/memory-probe.mjs and writes its memory breakdown,
 * a JSON line a second, to <dir>/<label>.jsonl (what docs/performance.md, "Steady RSS", was read from).
 */
import { join } from 'node:path';
import { loadConfig } from '../src/config.ts';
import { RegistryClient } from '../src/contracts/registry-client.ts';
import { createKafka } from '../src/kafka/kafka-client.ts';
import { TypedProducer } from '../src/producer/typed-producer.ts';
import { DatabaseSpace, deleteGroups, TopicSpace } from './bench-space.ts';
import { measureLatency } from './latency.ts';
import { runPipelineProcess } from './pipeline-process.ts';
import { produceBacklog } from './produce-backlog.ts';

const [rateArg = '10000', secondsArg = '15', ...variantArgs] = process.argv.slice(2);
const drain = rateArg === 'drain';
const probeDir = process.env.STEADY_RSS_PROBE_DIR;
const rate = Number(rateArg);
const seconds = Number(secondsArg);
const variants = (variantArgs.length > 0 ? variantArgs : ['default=']).map((v) => {
  const at = v.indexOf('=');
  const [label = v, root] = (at < 0 ? v : v.slice(0, at)).split('@');
  // Words like MALLOC_ARENA_MAX=2 are environment variables of the process, the rest node flags.
  const words =
    at < 0
      ? []
      : v
          .slice(at + 1)
          .split(' ')
          .filter(Boolean);
  const isEnv = (w: string) => /^[A-Z_][A-Z0-9_]*=/.test(w);
  const env = Object.fromEntries(
    words.filter(isEnv).map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]),
  );
  return { label, root, env, nodeOptions: words.filter((w) => !isEnv(w)).join(' ') };
});

const config = loadConfig();
const kafka = createKafka(config.kafka, { clientId: 'pipeline-steady-rss', quiet: true });
const registry = new RegistryClient(config.registry);
const runId = `rss_${Date.now().toString(36)}`;
const settingsEnv: Record<string, string> = {
  CONSUMER_FROM_BEGINNING: 'true',
};

const rows: string[] = [];
try {
  for (const [i, variant] of variants.entries()) {
    const name = `${runId}_${i}`;
    const topics = await TopicSpace.create(kafka, registry, name, 4);
    const db = await DatabaseSpace.create(config, name, config.consumer.partitionConcurrency + 2);
    const producer = new TypedProducer({ kafka, catalog: topics.catalog, registry });
    await producer.connect();
    try {
      const env = {
        ...settingsEnv,
        ...variant.env,
        NODE_OPTIONS: [
          probeDir ? `--import ${join(import.meta.dirname, 'memory-probe.mjs')}` : '',
          variant.nodeOptions,
        ]
          .join(' ')
          .trim(),
        RSS_PROBE_FILE: probeDir ? join(probeDir, `${variant.label}.jsonl`) : '',
      };
      const entry = topics.entry('shop.page-views');
      let line: string;
      if (drain) {
        const events = seconds * 10_000;
        await produceBacklog(producer, entry, events, { seed: 20251128, now: new Date() });
        const run = await runPipelineProcess({
          label: variant.label,
          topic: entry.topic,
          groupId: name,
          database: db,
          schemasDir: topics.schemasDir,
          expected: events,
          settingsEnv: env,
          timeoutMs: 600_000,
          ...(variant.root === undefined ? {} : { root: variant.root }),
        });
        line = `${variant.label.padEnd(12)} drain ${events} at ${Math.round(run.perSecond)}/s  RSS median ${run.medianRssMb.toFixed(1)} MB  peak ${run.peakRssMb.toFixed(1)} MB  CPU ${run.cpuMicrosPerEvent.toFixed(2)} µs/event`;
      } else {
        const result = await measureLatency({
          entry,
          database: db,
          label: variant.label,
          groupId: name,
          schemasDir: topics.schemasDir,
          producer,
          ratePerSecond: rate,
          warmupSeconds: 3,
          seconds,
          settingsEnv: env,
          ...(variant.root === undefined ? {} : { workerRoot: variant.root }),
        });
        line = `${variant.label.padEnd(12)} rate ${Math.round(result.achievedRate)}/s  RSS median ${result.steadyRssMb.toFixed(1)} MB  max ${result.steadyMaxRssMb.toFixed(1)} MB  peak ${result.peakRssMb.toFixed(1)} MB  CPU ${result.cpuMicrosPerEvent.toFixed(2)} µs/event  p99 ${result.latencyMs.p99} ms  slowest 1 % wait/fetch/before/write ${[result.breakdown.tail.waitMs, result.breakdown.tail.fetchMs, result.breakdown.tail.beforeWriteMs, result.breakdown.tail.writeMs].map((ms) => Math.round(ms)).join('/')} ms`;
      }
      console.log(line);
      rows.push(line);
    } finally {
      await producer.disconnect();
      await db.cleanup();
      await topics.cleanup(kafka);
      await deleteGroups(kafka, [name]);
    }
  }
} finally {
  registry.close();
}
console.log(rows.join('\n'));
