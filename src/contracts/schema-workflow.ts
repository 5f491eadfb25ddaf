/**
 * The schema evolution steps between a catalog edit and a deploy: check every reader schema against the
 * registry (a CI gate), then register the catalog's versions in order.
 */
import { PipelineError } from '../errors.ts';
import type { Catalog } from './catalog.ts';
import type { CompatibilityLevel } from './compatibility-level.ts';
import type { RegistryClient } from './registry-client.ts';

export interface SchemaCheck {
  topic: string;
  subject: string;
  /** The catalog file of the reader schema that was checked. */
  file: string;
  level: CompatibilityLevel;
  compatible: boolean;
  /** False when the subject has no version yet (nothing to break). */
  compared: boolean;
  reasons: string[];
}

/** Tests each entry's reader schema against the registry's latest version of its subject, under its level. */
export async function checkSchemas(catalog: Catalog, registry: RegistryClient): Promise<SchemaCheck[]> {
  const checks: SchemaCheck[] = [];
  for (const entry of catalog.entries) {
    const result = await registry.checkCompatibility(entry.subject, entry.reader.schema);
    checks.push({ topic: entry.topic, subject: entry.subject, file: entry.reader.file, ...result });
  }
  return checks;
}

/** Throws SCHEMA_INCOMPATIBLE naming every refused subject and its reasons; returns when all pass. */
export function assertCompatible(checks: readonly SchemaCheck[]): void {
  const refused = checks.filter((c) => !c.compatible);
  if (refused.length === 0) return;
  const lines = refused.map(
    (c) => `${c.subject} (${c.file}, ${c.level}): ${c.reasons.join('; ') || 'refused by the registry'}`,
  );
  throw new PipelineError(
    'SCHEMA_INCOMPATIBLE',
    `${refused.length} schema(s) would be refused by the registry:\n  - ${lines.join('\n  - ')}`,
    { details: { subjects: refused.map((c) => c.subject) } },
  );
}

export interface Registration {
  topic: string;
  subject: string;
  /** The catalog's version number of the schema. */
  catalogVersion: number;
  file: string;
  id: number;
  /** The registry's version number under the subject. */
  version: number;
  created: boolean;
}

export interface RegisterSchemasOptions {
  /** Register every version of each entry, oldest first, instead of the reader version only. Default false. */
  allVersions?: boolean;
  /** Called after each schema, to report progress. */
  onRegistered?: (registration: Registration) => void;
}

/**
 * Registers the catalog's schemas in catalog order, each entry's versions oldest first; idempotent. The
 * first refusal stops everything after it (its error names the subject), so a subject never gets a version
 * whose predecessor is missing.
 */
export async function registerSchemas(
  catalog: Catalog,
  registry: RegistryClient,
  options: RegisterSchemasOptions = {},
): Promise<Registration[]> {
  const registrations: Registration[] = [];
  for (const entry of catalog.entries) {
    const versions = options.allVersions ? entry.versions : [entry.reader];
    for (const version of versions) {
      // Errors of register() name the subject already.
      const registered = await registry.register(entry.subject, version.schema);
      const registration: Registration = {
        topic: entry.topic,
        subject: entry.subject,
        catalogVersion: version.version,
        file: version.file,
        ...registered,
      };
      registrations.push(registration);
      options.onRegistered?.(registration);
    }
  }
  return registrations;
}
