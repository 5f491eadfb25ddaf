/**
 * The two reference pages that restate code: docs/configuration.md (every variable src/config.ts reads, with
 * its default and range) and docs/troubleshooting.md (every error code with its exit code). A variable or a
 * code added without its line in the docs fails here, as does a default or an exit code changed on one side.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { exitCodeOf } from '../../src/cli/exit-codes.ts';
import { projectRoot } from '../../src/config.ts';
import { type ErrorCode, PipelineError } from '../../src/errors.ts';

const read = (file: string) => readFileSync(join(projectRoot, file), 'utf8');

/** Table rows of a Markdown page as trimmed cells (the leading and trailing empty cells dropped). */
function tableRows(markdown: string): string[][] {
  return markdown
    .split('\n')
    .filter((line) => line.startsWith('|') && !/^\|\s*-+/.test(line))
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
}

// isCi is exported for callers that want it, but no command reads CI: it is not a setting to document.
const configSource = (() => {
  const source = read('src/config.ts');
  return source.slice(0, source.indexOf('export function isCi'));
})();
const configurationRows = tableRows(read('docs/configuration.md'));
const rowOf = (variable: string) => configurationRows.find((cells) => cells[0]?.includes(`\`${variable}\``));

test('docs/configuration.md has a row for every variable src/config.ts reads', (t) => {
  const names = new Set(
    [...configSource.matchAll(/'([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)'|env\.([A-Z][A-Z0-9_]+)/g)].map(
      (m) => m[1] ?? m[2] ?? '',
    ),
  );
  t.true(names.size >= 40, `found only ${names.size} names: the pattern no longer matches config.ts`);
  // A variable read only as another one's fallback (JAVA_HOME) or refused (PGSSLMODE…) is named in the
  // meaning of the row it belongs to.
  const mentioned = (name: string) => configurationRows.some((cells) => cells[1]?.includes(`\`${name}\``));
  for (const name of names)
    t.true(rowOf(name) !== undefined || mentioned(name), `${name} is not in the table`);
});

test('each numeric variable of docs/configuration.md states the default and range src/config.ts applies', (t) => {
  const integers = [...configSource.matchAll(/integer\('(\w+)', ([\d_]+), ([\d_]+), ([\d_]+)\)/g)];
  t.true(integers.length >= 8);
  const plain = (n: string) => n.replaceAll('_', '');
  for (const [, name = '', fallback = '', min = '', max = ''] of integers) {
    const meaning = rowOf(name)?.[1] ?? '';
    t.true(meaning.includes(`${plain(min)}–${plain(max)}`), `${name}: range ${min}–${max} in "${meaning}"`);
    t.true(meaning.includes(`(${plain(fallback)})`), `${name}: default ${fallback} in "${meaning}"`);
  }
  const ports = [...configSource.matchAll(/port\('(\w+)', (\d+)\)/g)];
  t.true(ports.length >= 7);
  for (const [, name = '', fallback = ''] of ports) {
    t.true(rowOf(name)?.[1]?.includes(fallback), `${name}: default port ${fallback}`);
  }
  const strings = [...configSource.matchAll(/string\('(\w+)', '([^']+)'\)/g)];
  t.true(strings.length >= 4);
  for (const [, name = '', fallback = ''] of strings) {
    t.true(rowOf(name)?.[1]?.includes(`\`${fallback}\``), `${name}: default ${fallback}`);
  }
});

/** Every code once: adding a code to ErrorCode without listing it here does not compile. */
const everyCode: Record<ErrorCode, true> = {
  USAGE_INVALID: true,
  CONFIG_INVALID: true,
  STACK_PREREQUISITE_MISSING: true,
  STACK_PORT_TAKEN: true,
  STACK_DOWNLOAD_FAILED: true,
  STACK_START_FAILED: true,
  SCHEMA_INVALID: true,
  CATALOG_INVALID: true,
  UNKNOWN_TOPIC: true,
  EVENT_INVALID: true,
  SCHEMA_INCOMPATIBLE: true,
  REGISTRY_REJECTED: true,
  CONTRACT_MISMATCH: true,
  CODEGEN_STALE: true,
  TLS_CERTIFICATE_REJECTED: true,
  BROKER_AUTH_REJECTED: true,
  MIGRATIONS_PENDING: true,
  MIGRATION_FAILED: true,
  MIGRATION_NEEDS_REVIEW: true,
  WIRE_FORMAT_INVALID: true,
  SCHEMA_ID_UNKNOWN: true,
  PAYLOAD_UNDECODABLE: true,
  ROW_REJECTED: true,
  DATABASE_UNAVAILABLE: true,
  REGISTRY_UNAVAILABLE: true,
  BROKER_UNAVAILABLE: true,
  CONSUMER_CRASHED: true,
  OFFSETS_BEYOND_LOG_END: true,
  SHUTDOWN_TIMEOUT: true,
  INVARIANT_BROKEN: true,
  TIMEOUT: true,
};

test('docs/troubleshooting.md lists every error code under its exit code, and explains each', (t) => {
  const page = read('docs/troubleshooting.md');
  const exitRows = tableRows(page).filter((cells) => /^\d+$/.test(cells[0] ?? ''));
  t.deepEqual(
    exitRows.map((cells) => Number(cells[0])),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  for (const code of Object.keys(everyCode) as ErrorCode[]) {
    const exit = exitCodeOf(new PipelineError(code, 'for the docs'));
    const listedUnder = exitRows
      .filter((cells) => cells[2]?.includes(`\`${code}\``))
      .map((c) => Number(c[0]));
    t.deepEqual(listedUnder, [exit], `${code} exits ${exit}`);
    t.true(page.includes(`**\`${code}\`**`), `${code} has its paragraph`);
  }
});
