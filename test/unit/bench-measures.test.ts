import test from 'ava';
import { cpuCeiling } from '../../bench/bench-report.ts';
import { latencyBreakdown } from '../../bench/latency-breakdown.ts';
import { machineCpuOfStat, readMachineCpu } from '../../bench/machine-cpu.ts';
import { clockTicksPerSecond, cpuTicksOfStat, readProcessCpuMs } from '../../bench/process-cpu.ts';
import { parseTranscodeResults } from '../../bench/transcode-results.ts';

test('utime + stime are read after the command name, spaces and parentheses in it included', (t) => {
  const stat = '14239 (node (bench) x) R 14236 14236 11038 0 -1 4194304 99 0 0 0 731 42 0 0 20 0 1 0 1057371';
  t.is(cpuTicksOfStat(stat), 773);
  t.throws(() => cpuTicksOfStat('1 (x) R 1'), { message: /unreadable stat line/ });
});

test('the CPU time of a live process grows with the work it does; a gone process has none', (t) => {
  const before = readProcessCpuMs(process.pid);
  t.true(before !== undefined && before >= 0);
  // Busy until the kernel has charged at least one more tick (a loaded machine may take a while).
  const deadline = performance.now() + 20_000;
  let after = before!;
  while (after <= before! && performance.now() < deadline) after = readProcessCpuMs(process.pid)!;
  t.true(after > before!);
  t.is(readProcessCpuMs(2 ** 22 + 1), undefined);
});

test('the latency split: medians over all events, means over the slowest 1 %, the largest part named', (t) => {
  const samples = Array.from({ length: 200 }, (_, i) => ({
    latencyMs: 10 + i,
    waitMs: 3,
    fetchMs: 1,
    beforeWriteMs: 1,
    writeMs: 5 + i,
  }));
  // Two events whose batch was not matched are left out of the parts.
  const unmatched = { latencyMs: 1000, waitMs: Number.NaN, fetchMs: Number.NaN, beforeWriteMs: Number.NaN };
  samples.push({ ...unmatched, writeMs: 990 }, { ...unmatched, writeMs: 990 });
  const b = latencyBreakdown(samples);
  t.is(b.unmatched, 2);
  t.deepEqual(b.median, { waitMs: 3, fetchMs: 1, beforeWriteMs: 1, writeMs: 104 });
  // p99 of 10..209 is 207: the events of 207, 208 and 209 ms.
  t.deepEqual(b.tail, { waitMs: 3, fetchMs: 1, beforeWriteMs: 1, writeMs: 203, events: 3 });
  t.is(b.dominant, 'writeMs');
  const busy = latencyBreakdown([{ latencyMs: 100, waitMs: 70, fetchMs: 20, beforeWriteMs: 2, writeMs: 8 }]);
  t.is(busy.dominant, 'waitMs');
});

const transcodeJson = {
  measuredAt: '2026-11-29T17:20:37.137Z',
  cases: [
    {
      case: 'page views',
      rows: 1000,
      referenceCpuMicrosPerRow: 8.06,
      fastCpuMicrosPerRow: 5.31,
      speedup: 1.52,
    },
    { case: 'orders', rows: 200, referenceCpuMicrosPerRow: 15.27, fastCpuMicrosPerRow: 12.02 },
  ],
  somethingNew: { kept: true },
};

test("the transcode script's JSON is read field by field; the page-view fast path is the target's figure", (t) => {
  const parsed = parseTranscodeResults(transcodeJson);
  t.is(parsed.pageViewFastMicros, 5.31);
  t.deepEqual(parsed.cases[1], {
    case: 'orders',
    rows: 200,
    referenceCpuMicrosPerRow: 15.27,
    fastCpuMicrosPerRow: 12.02,
  });
  t.deepEqual(parsed.raw.somethingNew, { kept: true });
});

test('transcode JSON without a figure, without page views, or older than the run is refused by name', (t) => {
  const without = { ...transcodeJson, cases: [{ case: 'page views', rows: 1, referenceCpuMicrosPerRow: 1 }] };
  t.throws(() => parseTranscodeResults(without), {
    message: /cases\[0\]\.fastCpuMicrosPerRow is not a number/,
  });
  t.throws(() => parseTranscodeResults({ ...transcodeJson, cases: [transcodeJson.cases[1]] }), {
    message: /no page-view case/,
  });
  t.throws(() => parseTranscodeResults(transcodeJson, Date.parse('2026-11-29T17:21:00Z')), {
    message: /before this run started it/,
  });
  t.throws(() => parseTranscodeResults([]), { message: /not an object/ });
});

test("the machine's busy CPU counts user, nice, system, irq, softirq and steal, not idle or iowait", (t) => {
  const stat = 'cpu  100 20 30 5000 70 1 2 3 0 0\ncpu0 50 10 15 2500 35 1 1 2 0 0\nintr 1\n';
  const ticks = 100 + 20 + 30 + 1 + 2 + 3;
  t.is(machineCpuOfStat(stat).busyMs, (ticks * 1000) / clockTicksPerSecond());
  t.throws(() => machineCpuOfStat('intr 1\n'), { message: /unreadable \/proc\/stat/ });
  const now = readMachineCpu();
  t.true(now !== undefined && now.busyMs > 0);
});

test("the shared machine's ceiling is the raw COPY's machine CPU per row (the pipeline's format) over the pipeline's; absent without figures", (t) => {
  const run = (machineCpuMicrosPerEvent?: number) =>
    ({ machineCpuMicrosPerEvent }) as unknown as Parameters<typeof cpuCeiling>[0]['rawCopy'] &
      Parameters<typeof cpuCeiling>[0]['pipelineCopy'];
  const text = 'text' as const;
  t.is(
    cpuCeiling({ rawCopy: run(10), rawCopyBinary: run(8), pipelineCopyFormat: text, pipelineCopy: run(25) }),
    0.4,
  );
  t.is(
    cpuCeiling({
      rawCopy: run(10),
      rawCopyBinary: run(8),
      pipelineCopyFormat: 'binary',
      pipelineCopy: run(25),
    }),
    0.32,
  );
  t.is(
    cpuCeiling({
      rawCopy: run(undefined),
      rawCopyBinary: run(8),
      pipelineCopyFormat: text,
      pipelineCopy: run(25),
    }),
    undefined,
  );
  t.is(
    cpuCeiling({
      rawCopy: run(10),
      rawCopyBinary: run(8),
      pipelineCopyFormat: text,
      pipelineCopy: run(Number.NaN),
    }),
    undefined,
  );
});
