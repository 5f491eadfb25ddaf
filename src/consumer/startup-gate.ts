/**
 * The gate before consuming: the database is at the newest migration and its tables hold every field of
 * every reader schema with a compatible type, and every writer schema registered under a consumed subject
 * can be read by the reader schema. All problems are reported together; any one refuses the start.
 */
import type pg from 'pg';
import type { Catalog } from '../contracts/catalog.ts';
import type { RegistryClient } from '../contracts/registry-client.ts';
import { registryContractProblems } from '../contracts/registry-contract.ts';
import { PipelineError } from '../errors.ts';
import {
  checkDatabaseContract,
  type DatabaseContractProblem,
  databaseContractError,
  migrationsPending,
} from '../sink/contract-gate.ts';

export interface StartupContractInput {
  pool: pg.Pool;
  catalog: Catalog;
  registry: RegistryClient;
  migrationsDir: string;
}

export interface StartupContractReport {
  database: DatabaseContractProblem[];
  /** One line per registered writer schema the reader cannot read, or subject with none. */
  registry: string[];
}

export async function checkStartupContract(input: StartupContractInput): Promise<StartupContractReport> {
  const [database, registry] = await Promise.all([
    checkDatabaseContract(input.pool, input.catalog, input.migrationsDir),
    registryContractProblems(input.catalog, input.registry),
  ]);
  return { database, registry };
}

/** The error that refuses the start, or undefined when schemas, registry and tables agree. */
export function startupContractError(report: StartupContractReport): PipelineError | undefined {
  const { database, registry } = report;
  if (database.length + registry.length === 0) return undefined;
  if (registry.length === 0) return databaseContractError(database);
  const lines = [...database.map((p) => p.message), ...registry];
  const pending = migrationsPending(database);
  return new PipelineError(
    pending ? 'MIGRATIONS_PENDING' : 'CONTRACT_MISMATCH',
    `refusing to start: schemas, registry and tables disagree${pending ? ' (run `pipeline migrate up`)' : ''}:\n  - ${lines.join('\n  - ')}`,
    { details: { problems: lines.length } },
  );
}

export async function assertStartupContract(input: StartupContractInput): Promise<void> {
  const error = startupContractError(await checkStartupContract(input));
  if (error !== undefined) throw error;
}
