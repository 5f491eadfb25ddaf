import { relative } from 'node:path';
import { loadConfig } from '../config.ts';
import { entryFor, loadCatalog } from '../contracts/catalog.ts';
import { PipelineError, UsageError } from '../errors.ts';
import { draftMigration } from '../sink/migration-draft.ts';
import { describeStep } from '../sink/migration-render.ts';
import { migrateDown, migrateUp, migrationStatus } from '../sink/migrations.ts';
import type { Command, CommandIo, ParsedArgs } from './command.ts';

function parseCount(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (raw === 'all') return Number.POSITIVE_INFINITY;
  const count = Number(raw);
  if (!Number.isInteger(count) || count < 1)
    throw new UsageError('--count must be a whole number >= 1, or all');
  return count;
}

/** A path as short as it can be read: relative inside the working folder, absolute outside it. */
function shown(path: string): string {
  const near = relative(process.cwd(), path);
  return near.startsWith('..') ? path : near;
}

const CHANGE = /^[a-z0-9][a-z0-9-]{0,40}$/;

async function draft(values: ParsedArgs['values'], io: CommandIo): Promise<void> {
  const topic = values['from-schema'];
  if (typeof topic !== 'string' || topic === '')
    throw new UsageError('migrate new needs --from-schema <topic>');
  const change = values.name;
  if (change !== undefined && (typeof change !== 'string' || !CHANGE.test(change))) {
    throw new UsageError('--name must be lower-case letters, digits and dashes, e.g. v3 or add-channel');
  }
  if (values.count !== undefined) throw new UsageError('--count goes with up and down');
  const config = loadConfig();
  const entry = entryFor(loadCatalog(config.schemasDir), topic);
  const result = await draftMigration(config.database, {
    entry,
    migrationsDir: config.migrationsDir,
    fromDatabase: values['from-database'] === true,
    log: io.err,
    ...(change === undefined ? {} : { change }),
  });
  if (result.file === undefined) {
    io.out(`${entry.table} already takes ${entry.reader.file} (${result.source}): nothing to migrate`);
    return;
  }
  io.out(`wrote ${shown(result.file)} (from ${result.source})`);
  for (const step of result.steps) io.out(`  ${describeStep(step)}`);
  if (result.review.length > 0) {
    throw new PipelineError(
      'MIGRATION_NEEDS_REVIEW',
      `${result.review.length} step(s) of ${shown(result.file)} need a person and are commented out; decide, edit the file, then \`pipeline migrate up\` (or delete it)`,
      { details: { file: result.file } },
    );
  }
}

export const migrateCommand: Command = {
  usage:
    'pipeline migrate <up|down|status> [--count <n|all>]\n       pipeline migrate new --from-schema <topic> [--from-database] [--name <change>]',
  positionals: ['action'],
  help: [
    'up      apply the pending migrations (all, or --count of them) in one transaction',
    'down    revert the last applied migration (or the last --count; all reverts everything)',
    'status  list the applied and the pending migrations',
    "new     draft a migration from a schema change: --from-schema <topic> compares the topic's reader schema",
    '        with its table as the migrations leave it (applied to a scratch schema, dropped afterwards;',
    '        --from-database reads DATABASE_SCHEMA instead) and writes <timestamp>_<topic>-<change>.ts',
    '        (--name <change>, default v<reader version>): new columns with type, nullability and default,',
    '        renames from field aliases, enum CHECKs widened, and a down that undoes it. What only a person',
    '        can decide (a type change, a rename without an alias, a NOT NULL column gone) is written commented',
    '        out with the reason, and the command exits 4 (MIGRATION_NEEDS_REVIEW): review before `up`.',
    '',
    'Migrations run in the schema DATABASE_SCHEMA (default public), created if missing, and are recorded in',
    'its pgmigrations table. Two runs on the same schema wait for each other.',
  ].join('\n'),
  options: {
    count: { type: 'string' },
    'from-schema': { type: 'string' },
    'from-database': { type: 'boolean' },
    name: { type: 'string' },
  },
  async run(args, io) {
    const [action] = args.positionals;
    if (action === 'new') return draft(args.values, io);
    for (const option of ['from-schema', 'from-database', 'name']) {
      if (args.values[option] !== undefined) throw new UsageError(`--${option} goes with \`migrate new\``);
    }
    const count = parseCount(args.values.count as string | undefined);
    const config = loadConfig();
    const options = {
      migrationsDir: config.migrationsDir,
      ...(count === undefined ? {} : { count }),
    };
    const schema = config.database.schema;
    switch (action) {
      case 'up': {
        const applied = await migrateUp(config.database, options);
        if (applied.length === 0) io.out(`schema ${schema}: no pending migration`);
        for (const name of applied) io.out(`applied   ${name}`);
        return;
      }
      case 'down': {
        const reverted = await migrateDown(config.database, options);
        if (reverted.length === 0) io.out(`schema ${schema}: no applied migration`);
        for (const name of reverted) io.out(`reverted  ${name}`);
        return;
      }
      case 'status': {
        const status = await migrationStatus(config.database, config.migrationsDir);
        io.out(`schema ${schema}: ${status.applied.length} applied, ${status.pending.length} pending`);
        for (const name of status.applied) io.out(`applied   ${name}`);
        for (const name of status.pending) io.out(`pending   ${name}`);
        for (const name of status.missingFiles) io.out(`no file   ${name}`);
        return;
      }
      default:
        throw new UsageError(`unknown action "${action ?? ''}"`);
    }
  },
};
