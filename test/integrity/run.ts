/**
 * `npm run test:integrity [-- --seed N] [-- --scenario name]…`: the integrity suite of issue #8. Starts a
 * private stack (its own STACK_DIR and ports: the scenarios kill its services), runs each scenario, prints
 * one table, and exits non-zero when any scenario found a lost, duplicated or wrong message, or a member
 * that misbehaved. `--keep-stack` leaves the private stack running for the next run, `--keep-data` each
 * scenario's PostgreSQL schema and topics for a look afterwards.
 */
import { parseArgs } from 'node:util';
import { startPrivateStack } from './private-stack.ts';
import { Rng } from './rng.ts';
import { type ResultRow, ScenarioContext } from './scenario-context.ts';
import { scenarios } from './scenarios.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    scenario: { type: 'string', multiple: true },
    'base-port': { type: 'string', default: process.env.INTEGRITY_BASE_PORT ?? '25000' },
    'keep-stack': { type: 'boolean', default: false },
    'keep-data': { type: 'boolean', default: false },
  },
});

const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
if (!Number.isSafeInteger(seed) || seed < 0) {
  console.error('--seed must be a whole number >= 0');
  process.exit(2);
}
const selected = values.scenario ?? scenarios.map((s) => s.name);
const unknown = selected.filter((name) => !scenarios.some((s) => s.name === name));
if (unknown.length > 0) {
  console.error(`unknown scenario ${unknown.join(', ')}; known: ${scenarios.map((s) => s.name).join(', ')}`);
  process.exit(2);
}

const log = (line: string) => console.log(line);
log(`integrity suite, seed ${seed} (repeat with --seed ${seed}); scenarios: ${selected.join(', ')}`);

const suiteStarted = Date.now();
const stack = await startPrivateStack({
  basePort: Number(values['base-port']),
  log: (l) => log(`  stack: ${l}`),
});
const root = new Rng(seed);
const rows: Array<ResultRow & { ok: boolean }> = [];
const failures: string[] = [];

for (const scenario of scenarios.filter((s) => selected.includes(s.name))) {
  log(`\n▶ ${scenario.name}`);
  const started = Date.now();
  let ctx: ScenarioContext | undefined;
  try {
    ctx = await ScenarioContext.create(
      scenario.name,
      seed,
      root.fork(scenario.name),
      stack,
      log,
      scenario.traffic,
    );
    await scenario.run(ctx);
  } catch (error) {
    const message = `${scenario.name}: the scenario itself failed: ${(error as Error).stack ?? error}`;
    log(`  ✗ ${message}`);
    ctx?.fail(message);
    if (ctx === undefined) failures.push(message);
  } finally {
    // A frozen service must never outlive its scenario.
    for (const service of ['kafka', 'registry'] as const) {
      try {
        stack.thaw(service);
      } catch {
        // not running: the next scenario's stack.up() below restarts it
      }
    }
    await ctx?.close(values['keep-data']);
    await stack.up();
  }
  const ok = ctx !== undefined && ctx.failures.length === 0;
  if (ctx) {
    failures.push(...ctx.failures.map((f) => `${scenario.name}: ${f}`));
    const scenarioRows = ctx.rows.length > 0 ? ctx.rows : [emptyRow(scenario.name, Date.now() - started)];
    for (const row of scenarioRows) rows.push({ ...row, ok });
  } else rows.push({ ...emptyRow(scenario.name, Date.now() - started), ok: false });
  log(`  ${ok ? '✓' : '✗'} ${scenario.name} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

if (!values['keep-stack']) await stack.down();

function emptyRow(scenario: string, timeMs: number): ResultRow {
  return {
    scenario,
    seed,
    produced: 0,
    rows: 0,
    deadLetters: 0,
    lost: 0,
    duplicated: 0,
    failures: [],
    timeMs,
  };
}

const header = [
  'scenario',
  'seed',
  'produced',
  'rows',
  'dead letters',
  'lost',
  'duplicated',
  'time',
  'result',
];
const table = rows.map((r) => [
  r.scenario,
  String(r.seed),
  r.produced.toLocaleString('en'),
  r.rows.toLocaleString('en'),
  r.deadLetters.toLocaleString('en'),
  String(r.lost),
  String(r.duplicated),
  `${(r.timeMs / 1000).toFixed(0)} s`,
  r.ok ? 'pass' : 'FAIL',
]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
const line = (cells: string[]) =>
  `| ${cells.map((c, i) => (i === 0 || i === 8 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
log(`\nIntegrity suite, seed ${seed}, ${((Date.now() - suiteStarted) / 1000).toFixed(0)} s in all\n`);
log(line(header));
log(
  `| ${widths.map((w, i) => (i === 0 || i === 8 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`,
);
for (const row of table) log(line(row));
if (failures.length > 0) {
  log(`\n${failures.length} failure(s):`);
  for (const failure of failures) log(`- ${failure}`);
  process.exitCode = 1;
} else {
  log('\nno message lost, duplicated or wrong; every member behaved');
}
