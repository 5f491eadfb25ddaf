import { loadConfig } from '../config.ts';
import { UsageError } from '../errors.ts';
import { migrateDown, migrateUp, migrationStatus } from '../sink/migrations.ts';
import type { Command } from './command.ts';

function parseCount(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (raw === 'all') return Number.POSITIVE_INFINITY;
  const count = Number(raw);
  if (!Number.isInteger(count) || count < 1)
    throw new UsageError('--count must be a whole number >= 1, or all');
  return count;
}

export const migrateCommand: Command = {
  usage: 'pipeline migrate <up|down|status> [--count <n|all>]',
  positionals: ['action'],
  help: [
    'up      apply the pending migrations (all, or --count of them) in one transaction',
    'down    revert the last applied migration (or the last --count; all reverts everything)',
    'status  list the applied and the pending migrations',
    '',
    'Migrations run in the schema DATABASE_SCHEMA (default public), created if missing, and are recorded in',
    'its pgmigrations table. Two runs on the same schema wait for each other.',
  ].join('\n'),
  options: { count: { type: 'string' } },
  async run(args, io) {
    const [action] = args.positionals;
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
