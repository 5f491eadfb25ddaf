/**
 * The registry side of the start-up gate: every version registered under a consumed subject must be
 * readable by the local reader schema, by the project's compatibility rules (compatibility-rules.ts). A
 * producer that registered something the reader cannot read, or would read wrong (a decimal of another
 * scale, a timestamp in another unit), would turn its messages into dead letters or wrong rows; better to
 * refuse to start and say which field.
 */
import type { Catalog, CatalogEntry } from './catalog.ts';
import { type CompatibilityProblem, compatibilityProblems, formatProblem } from './compatibility-rules.ts';
import type { RegistryClient } from './registry-client.ts';

/** Problems of reading each version registered under the entry's subject with its reader schema. */
export async function registeredVersionProblems(
  entry: CatalogEntry,
  registry: RegistryClient,
): Promise<CompatibilityProblem[]> {
  const writers = [];
  for (const version of await registry.versions(entry.subject)) {
    const registered = await registry.subjectVersion(entry.subject, version);
    // Referenced types inlined: a version that uses them by name parses like any other.
    const schema = await registry.withReferences(registered, `${entry.subject} version ${version}`);
    writers.push({ version: `version ${version} (id ${registered.id})`, schema });
  }
  return compatibilityProblems(entry.subject, entry.reader.type, writers);
}

export async function registryContractProblems(
  catalog: Catalog,
  registry: RegistryClient,
): Promise<string[]> {
  const problems: string[] = [];
  for (const entry of catalog.entries) {
    const versions = await registry.versions(entry.subject);
    if (versions.length === 0) {
      problems.push(`${entry.subject}: no schema registered (run \`pipeline schemas register\`)`);
      continue;
    }
    for (const problem of await registeredVersionProblems(entry, registry)) {
      problems.push(`${formatProblem(problem)} (reader ${entry.reader.file})`);
    }
  }
  return problems;
}
