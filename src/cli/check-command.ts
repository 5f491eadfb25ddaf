import { loadConfig, type PipelineConfig } from '../config.ts';
import { loadCatalog } from '../contracts/catalog.ts';
import { PipelineError } from '../errors.ts';
import { checkDatabaseContract, databaseContractError } from '../sink/contract-gate.ts';
import { createPool } from '../sink/database.ts';
import type { Command } from './command.ts';

/**
 * One part of `pipeline check`: the problems it found, one line each, and the error to exit with when there
 * are any. Further parts (the registry's) are added to `checks` below.
 */
export interface ContractCheck {
  name: string;
  run(config: PipelineConfig): Promise<{ problems: string[]; error?: PipelineError }>;
}

/** Migrations applied, tables and columns as the reader schemas map them (src/sink/contract-gate.ts). */
export const databaseCheck: ContractCheck = {
  name: 'database',
  async run(config) {
    const pool = createPool(config.database, { max: 1 });
    try {
      const problems = await checkDatabaseContract(
        pool,
        loadCatalog(config.schemasDir),
        config.migrationsDir,
      );
      return {
        problems: problems.map((p) => p.message),
        ...(problems.length > 0 ? { error: databaseContractError(problems) } : {}),
      };
    } finally {
      await pool.end();
    }
  },
};

export const checks: ContractCheck[] = [databaseCheck];

export const checkCommand: Command = {
  name: 'check',
  summary: 'check the start-up contract without consuming: migrations, tables, columns',
  usage: 'pipeline check',
  help: [
    'Runs the checks the consumer runs before it starts and prints every problem found:',
    '  database  migrations applied; each catalog table has a column of the mapped type for every field of',
    '            its reader schema (numeric precision and scale, nullability, enum CHECKs), the _kafka_*',
    '            metadata columns and the primary key of its write mode',
    'Exit 0 when all pass, 4 when the contract is refused.',
  ].join('\n'),
  async run(_args, io) {
    const config = loadConfig();
    let firstError: PipelineError | undefined;
    for (const check of checks) {
      const { problems, error } = await check.run(config);
      io.out(`${check.name.padEnd(9)} ${problems.length === 0 ? 'OK' : `${problems.length} problem(s)`}`);
      for (const problem of problems) io.out(`  - ${problem}`);
      firstError ??= error;
    }
    // The problems are printed above; the error only sets the exit code (4) and a one-line summary.
    if (firstError !== undefined) {
      throw new PipelineError(firstError.code, 'the start-up contract is refused (problems listed above)');
    }
  },
};
