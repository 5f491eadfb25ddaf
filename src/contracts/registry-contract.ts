/**
 * The registry side of the start-up gate: every version registered under a consumed subject must be
 * readable by the local reader schema. A producer that registered something the reader cannot resolve
 * would turn every one of its messages into a dead letter; better to refuse to start and say which.
 */
import type { Catalog } from './catalog.ts';
import { parseSchema } from './catalog.ts';
import type { RegistryClient } from './registry-client.ts';

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
    for (const version of versions) {
      const registered = await registry.subjectVersion(entry.subject, version);
      try {
        const writer = parseSchema(JSON.parse(registered.schema), `${entry.subject} v${version}`);
        entry.reader.type.createResolver(writer);
      } catch (error) {
        problems.push(
          `${entry.subject} version ${version} (id ${registered.id}) cannot be read by ${entry.reader.file}: ${(error as Error).message}`,
        );
      }
    }
  }
  return problems;
}
