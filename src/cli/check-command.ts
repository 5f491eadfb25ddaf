import { loadConfig } from '../config.ts';
import { checkStartupContract, startupContractError } from '../consumer/startup-gate.ts';
import { loadCatalog } from '../contracts/catalog.ts';
import { RegistryClient } from '../contracts/registry-client.ts';
import { PipelineError } from '../errors.ts';
import { createPool } from '../sink/database.ts';
import type { Command } from './command.ts';

export const checkCommand: Command = {
  usage: 'pipeline check',
  help: [
    'Runs the gate the consumer runs before it starts and prints every problem found:',
    '  database  migrations applied; each catalog table has a column of the mapped type for every field of',
    '            its reader schema (numeric precision and scale, nullability, enum CHECKs), the _kafka_*',
    '            metadata columns and the primary key of its write mode',
    '  registry  every subject has a schema, and every version registered under it can be read by the local',
    '            reader schema by the compatibility rules of `schemas check` (a version it cannot read, or would',
    '            read wrong, such as another decimal scale or timestamp unit, would send its messages to dead',
    '            letters)',
    'Exit 0 when all pass, 4 when the contract is refused.',
  ].join('\n'),
  async run(_args, io) {
    const config = loadConfig();
    const catalog = loadCatalog(config.schemasDir);
    const pool = createPool(config.database, { max: 2, log: (line) => io.log.warn(line) });
    const registry = new RegistryClient(config.registry);
    try {
      const report = await checkStartupContract({
        pool,
        catalog,
        registry,
        migrationsDir: config.migrationsDir,
      });
      const sections = [
        ['database', report.database.map((p) => p.message)],
        ['registry', report.registry],
      ] as const;
      for (const [name, problems] of sections) {
        io.out(`${name.padEnd(9)} ${problems.length === 0 ? 'OK' : `${problems.length} problem(s)`}`);
        for (const problem of problems) io.out(`  - ${problem}`);
      }
      const error = startupContractError(report);
      // The problems are listed above; the error sets the exit code (4) with a one-line summary.
      if (error !== undefined)
        throw new PipelineError(error.code, 'the start-up contract is refused (see above)');
    } finally {
      registry.close();
      await pool.end();
    }
  },
};
