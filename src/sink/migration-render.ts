/**
 * A node-pg-migrate migration file from the steps of table-diff.ts, in the style of migrations/*.ts (one
 * `up`, one `down` that undoes it in reverse order) and already in Biome's format. Steps a person must decide
 * are written commented out, with the reason, so that applying the file by accident does not take them.
 */
import type { CatalogEntry } from '../contracts/catalog.ts';
import { PipelineError } from '../errors.ts';
import { quoteIdentifier } from './sql-identifier.ts';
import { sqlString } from './sql-literal.ts';
import { type AutomaticStep, checkName, type NewColumn, type TableStep } from './table-diff.ts';

/** Biome's `formatter.lineWidth` (biome.json). */
const LINE_WIDTH = 110;
const INDENT = '  ';

// A tiny printer for the few shapes a migration needs: calls, objects, arrays and raw text. Flat when it
// fits, otherwise broken the way Biome (like Prettier) breaks it: the last object or array argument hugged,
// else one argument per line.
type Node =
  | { raw: string }
  | { call: string; args: Node[] }
  | { object: [key: string, value: Node][] }
  | { array: Node[] };

const raw = (text: string): Node => ({ raw: text });
const str = (text: string): Node => ({ raw: tsString(text) });

/** A TypeScript string literal as Biome writes it: single quotes unless double quotes need fewer escapes. */
export function tsString(text: string): string {
  const inner = JSON.stringify(text).slice(1, -1);
  const singles = (text.match(/'/g) ?? []).length;
  const doubles = (text.match(/"/g) ?? []).length;
  if (doubles < singles) return `"${inner}"`;
  return `'${inner.replaceAll('\\"', '"').replaceAll("'", "\\'")}'`;
}

function flat(node: Node): string {
  if ('raw' in node) return node.raw;
  if ('call' in node) return `${node.call}(${node.args.map(flat).join(', ')})`;
  if ('array' in node) return `[${node.array.map(flat).join(', ')}]`;
  return node.object.length === 0
    ? '{}'
    : `{ ${node.object.map(([k, v]) => `${k}: ${flat(v)}`).join(', ')} }`;
}

/**
 * `node` printed on a line that starts with `indent` and `lead` more characters, followed on its last line
 * by `suffix`; `expand` breaks it even when it would fit (a hugged last argument).
 */
function print(node: Node, indent: string, lead: number, suffix: string, expand = false): string {
  const oneLine = flat(node);
  if ('raw' in node) return node.raw + suffix;
  if (!expand && indent.length + lead + oneLine.length + suffix.length <= LINE_WIDTH) return oneLine + suffix;
  const inner = indent + INDENT;
  if ('array' in node) {
    return `[\n${node.array.map((item) => `${inner}${print(item, inner, 0, ',')}`).join('\n')}\n${indent}]${suffix}`;
  }
  if ('object' in node) {
    const lines = node.object.map(([k, v]) => `${inner}${k}: ${print(v, inner, k.length + 2, ',')}`);
    return `{\n${lines.join('\n')}\n${indent}}${suffix}`;
  }
  const last = node.args.at(-1);
  const head = `${node.call}(${node.args
    .slice(0, -1)
    .map((a) => `${flat(a)}, `)
    .join('')}`;
  const huggable = last !== undefined && ('object' in last || 'array' in last);
  if (huggable && indent.length + lead + head.length + 1 <= LINE_WIDTH) {
    return head + print(last, indent, 0, `)${suffix}`, true);
  }
  const args = node.args.map((a) => `${inner}${print(a, inner, 0, ',')}`);
  return `${node.call}(\n${args.join('\n')}\n${indent})${suffix}`;
}

/** A statement inside `up`/`down`. */
function statement(node: Node): string[] {
  return `${INDENT}${print(node, INDENT, 0, ';')}`.split('\n');
}

const pgm = (method: string, ...args: Node[]): Node => ({ call: `pgm.${method}`, args });

function columnOptions({ column, defaultSql }: NewColumn, primaryKey: boolean): Node {
  const options: [string, Node][] = [['type', str(column.pgType)]];
  if (primaryKey) options.push(['primaryKey', raw('true')]);
  else if (!column.nullable) options.push(['notNull', raw('true')]);
  if (defaultSql !== undefined) options.push(['default', pgm('func', str(defaultSql))]);
  return { object: options };
}

function enumCheck(column: string, symbols: readonly string[]): string {
  return `${quoteIdentifier(column)} IN (${symbols.map(sqlString).join(', ')})`;
}

function constraintName(table: string, column: string): string {
  const name = checkName(table, column);
  quoteIdentifier(name); // refuses a name PostgreSQL would truncate
  return name;
}

/** `up` and `down` statements of one automatic step. */
function renderStep(table: string, step: AutomaticStep): { up: string[]; down: string[] } {
  const t = str(table);
  switch (step.kind) {
    case 'create-table': {
      const columns: [string, Node][] = step.columns.map((c) => [
        c.column.name,
        columnOptions(c, step.primaryKey.length === 1 && step.primaryKey[0] === c.column.name),
      ]);
      const args: Node[] = [t, { object: columns }];
      if (step.primaryKey.length > 1) {
        args.push({
          object: [['constraints', { object: [['primaryKey', { array: step.primaryKey.map(str) }]] }]],
        });
      }
      const up = statement(pgm('createTable', ...args));
      if (step.indexOn !== undefined) up.push(...statement(pgm('createIndex', t, str(step.indexOn))));
      return { up, down: statement(pgm('dropTable', t)) };
    }
    case 'rename-column':
      return {
        up: statement(pgm('renameColumn', t, str(step.from), str(step.to))),
        down: statement(pgm('renameColumn', t, str(step.to), str(step.from))),
      };
    case 'add-column':
      return {
        up: statement(
          pgm('addColumns', t, { object: [[step.added.column.name, columnOptions(step.added, false)]] }),
        ),
        down: statement(pgm('dropColumns', t, { array: [str(step.added.column.name)] })),
      };
    case 'add-check': {
      const name = constraintName(table, step.column);
      return {
        up: statement(
          pgm('addConstraint', t, str(name), {
            object: [['check', str(enumCheck(step.column, step.symbols))]],
          }),
        ),
        down: statement(pgm('dropConstraint', t, str(name))),
      };
    }
    case 'widen-check': {
      const name = constraintName(table, step.column);
      const replaced = [...new Map(step.replaced.map((c) => [c.name, c])).values()];
      return {
        up: [
          ...replaced.flatMap((c) => statement(pgm('dropConstraint', t, str(c.name)))),
          ...statement(
            pgm('addConstraint', t, str(name), {
              object: [['check', str(enumCheck(step.column, step.symbols))]],
            }),
          ),
        ],
        down: [
          `${INDENT}// Fails while rows hold a symbol added here: a down migration must not silently rewrite data.`,
          ...statement(pgm('dropConstraint', t, str(name))),
          ...replaced.flatMap((c) => statement(pgm('addConstraint', t, str(c.name), str(c.definition)))),
        ],
      };
    }
    case 'drop-not-null':
      return {
        up: statement(pgm('alterColumn', t, str(step.column), { object: [['notNull', raw('false')]] })),
        down: [
          `${INDENT}// Fails while a row holds NULL in ${step.column}.`,
          ...statement(pgm('alterColumn', t, str(step.column), { object: [['notNull', raw('true')]] })),
        ],
      };
    case 'drop-column':
      return {
        up: statement(pgm('dropColumns', t, { array: [str(step.column.column)] })),
        down: [
          `${INDENT}// The column comes back empty: its data was dropped.`,
          ...statement(
            pgm('addColumns', t, {
              object: [[step.column.column, { object: [['type', str(step.column.type)]] }]],
            }),
          ),
        ],
      };
    case 'alter-type': {
      const alter = (to: string) =>
        pgm('alterColumn', t, str(step.column), {
          object: [
            ['type', str(to)],
            ['using', str(`${quoteIdentifier(step.column)}::${to}`)],
          ],
        });
      return { up: statement(alter(step.to)), down: statement(alter(step.from)) };
    }
    case 'replace-primary-key': {
      const name = str(`${table}_pkey`);
      const key = (columns: string[]) =>
        statement(pgm('addConstraint', t, name, { object: [['primaryKey', { array: columns.map(str) }]] }));
      const drop = statement(pgm('dropConstraint', t, name));
      return {
        up: [...(step.from === undefined ? [] : drop), ...key(step.to)],
        down: [...drop, ...(step.from === undefined ? [] : key(step.from))],
      };
    }
  }
}

/** Comment lines of at most the line width, each starting with `prefix`. */
function wrap(text: string, prefix: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && prefix.length + line.length + 1 + word.length > LINE_WIDTH) {
      lines.push(`${prefix}${line}`);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(`${prefix}${line}`);
  return lines;
}

/** Statements commented out; comments among them stay as they are. */
const commentedOut = (lines: string[]) =>
  lines.map((l) => (l.trimStart().startsWith('//') ? l : `${INDENT}// ${l.slice(INDENT.length)}`));

/** One line per step for people: what the draft does, or what it leaves to them. */
export function describeStep(step: TableStep): string {
  switch (step.kind) {
    case 'create-table':
      return `create the table (${step.columns.length} columns)`;
    case 'rename-column':
      return `rename column ${step.from} to ${step.to} (an alias of the field)`;
    case 'add-column':
      return `add column ${step.added.column.name} ${step.added.column.pgType}${step.added.column.nullable ? '' : ' NOT NULL'}${step.added.defaultSql === undefined ? '' : ` DEFAULT ${step.added.defaultSql}`}`;
    case 'add-check':
      return `add CHECK on ${step.column}: ${step.symbols.join(', ')}`;
    case 'widen-check':
      return `widen the CHECK on ${step.column} to ${step.symbols.join(', ')}`;
    case 'drop-not-null':
      return `allow NULL in ${step.column}`;
    case 'drop-column':
      return `drop column ${step.column.column}`;
    case 'alter-type':
      return `change the type of ${step.column} from ${step.from} to ${step.to}`;
    case 'replace-primary-key':
      return `make (${step.to.join(', ')}) the primary key`;
    case 'review':
      return `NEEDS REVIEW ${step.subject}: ${step.reason}`;
  }
}

export interface RenderOptions {
  /** Where the table's current shape came from, for the header. */
  source: string;
}

/** The migration file's text. */
export function renderMigration(
  entry: CatalogEntry,
  steps: readonly TableStep[],
  options: RenderOptions,
): string {
  if (steps.length === 0) {
    throw new PipelineError('INVARIANT_BROKEN', 'a migration needs at least one step');
  }
  const table = entry.table;
  const up: string[] = [];
  const downs: string[][] = [];
  for (const step of steps) {
    if (step.kind !== 'review') {
      const rendered = renderStep(table, step);
      up.push(...rendered.up);
      downs.push(rendered.down);
      continue;
    }
    const reviewUp = wrap(`NEEDS REVIEW ${step.subject}: ${step.reason}.`, `${INDENT}// `);
    const reviewDown = [`${INDENT}// NEEDS REVIEW ${step.subject}: undo what was chosen in up.`];
    step.options.forEach((option, i) => {
      const label = `${INDENT}// ${i === 0 ? (step.options.length > 1 ? 'either' : 'perhaps') : 'or'} (${option.label}):`;
      const rendered = option.steps.map((s) => renderStep(table, s));
      reviewUp.push(label, ...commentedOut(rendered.flatMap((r) => r.up)));
      reviewDown.push(label, ...commentedOut(rendered.reverse().flatMap((r) => r.down)));
    });
    up.push(...reviewUp);
    downs.push(reviewDown);
  }
  const review = steps.filter((s) => s.kind === 'review').length;
  const header = [
    '/**',
    ...wrap(
      `${entry.topic} reader schema v${entry.reader.version} (${entry.reader.file}): drafted by \`pipeline migrate new --from-schema ${entry.topic}\` from ${options.source}.`,
      ' * ',
    ),
    ...(review === 0
      ? []
      : [
          ' *',
          ...wrap(
            `NEEDS REVIEW: ${review} step(s) below are commented out because only a person can decide them (the reason is beside each). Choose, edit, then apply.`,
            ' * ',
          ),
        ]),
    ' */',
  ];
  return [
    ...header,
    "import type { MigrationBuilder } from 'node-pg-migrate';",
    '',
    'export function up(pgm: MigrationBuilder): void {',
    ...up,
    '}',
    '',
    'export function down(pgm: MigrationBuilder): void {',
    ...downs.reverse().flat(),
    '}',
    '',
  ].join('\n');
}

/** The instant of node-pg-migrate's 17-digit `YYYYMMDDHHmmssSSS` (UTC) prefix, which is how it orders them. */
function prefixInstant(name: string): number | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{3})(?!\d)/.exec(name);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s, ms] = match.map(Number) as number[];
  return Date.UTC(y!, mo! - 1, d!, h!, mi!, s!, ms!);
}

/**
 * `<timestamp>_<topic>-<change>.ts`, its timestamp later than every existing migration's (node-pg-migrate
 * refuses to run one that sorts before an applied one), even when the clock says otherwise.
 */
export function migrationFileName(
  existing: readonly string[],
  topic: string,
  change: string,
  now = new Date(),
): string {
  const latest = Math.max(
    Number.NEGATIVE_INFINITY,
    ...existing.map((n) => prefixInstant(n) ?? Number.NEGATIVE_INFINITY),
  );
  const at = new Date(Math.max(now.getTime(), latest + 1));
  const prefix = at.toISOString().replace(/\D/g, '').slice(0, 17);
  const slug = `${topic}-${change}`
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
  return `${prefix}_${slug}.ts`;
}
