/**
 * The schema evolution steps between a catalog edit and a deploy: check every reader schema against the
 * registry (a CI gate), then register the catalog's versions in order.
 */
import type avro from 'avsc';
import { PipelineError } from '../errors.ts';
import { type Catalog, catalogVersionProblems } from './catalog.ts';
import type { CompatibilityLevel } from './compatibility-level.ts';
import { type CompatibilityProblem, formatProblem } from './compatibility-rules.ts';
import type { RegistryClient } from './registry-client.ts';
import { registeredVersionProblems } from './registry-contract.ts';

export interface SchemaCheck {
  topic: string;
  subject: string;
  /** The catalog file of the reader schema that was checked. */
  file: string;
  /** The subject's level; undefined when checked offline. */
  level: CompatibilityLevel | undefined;
  compatible: boolean;
  /** The registry's own verdict; undefined offline. */
  registryCompatible: boolean | undefined;
  /** False when the subject has no version yet (nothing to break), and offline. */
  compared: boolean;
  /** The project's rules: every registered and catalog writer version read by the reader. */
  problems: CompatibilityProblem[];
  /** What to print: the problems in their one wording, then what the registry said beyond them. */
  reasons: string[];
  /** Why the registry's verdict is the project's own check here (a schema with references it cannot check). */
  note?: string;
}

/**
 * One verdict per catalog entry, strict where data is at stake: the registry's check of the reader schema
 * against the subject's latest version under its level, and the project's rules (compatibility-rules.ts)
 * for every registered and catalog writer version. Without a registry (`--offline`, CI without
 * credentials) only the catalog's versions are checked, against each other.
 */
export async function checkSchemas(
  catalog: Catalog,
  registry: RegistryClient | undefined,
): Promise<SchemaCheck[]> {
  const checks: SchemaCheck[] = [];
  for (const entry of catalog.entries) {
    const problems = catalogVersionProblems(entry.subject, entry.versions);
    const base = { topic: entry.topic, subject: entry.subject, file: entry.reader.file };
    if (registry === undefined) {
      checks.push({
        ...base,
        level: undefined,
        compatible: problems.length === 0,
        registryCompatible: undefined,
        compared: false,
        problems,
        reasons: problems.map(formatProblem),
      });
      continue;
    }
    const result = await registry.checkCompatibility(
      entry.subject,
      entry.reader.schema,
      entry.reader.references,
    );
    problems.push(...(await registeredVersionProblems(entry, registry)));
    // The registry's reasons are its own words and a field-by-field account of its level's rule; when the
    // project's rules found problems, they say it in the common wording and only the registry's messages
    // are added.
    const registryReasons =
      problems.length === 0 ? result.reasons : result.reasons.filter((r) => r.startsWith('registry: '));
    checks.push({
      ...base,
      level: result.level,
      compatible: result.compatible && problems.length === 0,
      registryCompatible: result.compatible,
      compared: result.compared,
      problems,
      reasons: [...problems.map(formatProblem), ...registryReasons],
      ...(result.registryNote === undefined ? {} : { note: result.registryNote }),
    });
  }
  return checks;
}

/** Throws SCHEMA_INCOMPATIBLE naming every refused subject and its reasons; returns when all pass. */
export function assertCompatible(checks: readonly SchemaCheck[]): void {
  const refused = checks.filter((c) => !c.compatible);
  if (refused.length === 0) return;
  const lines = refused.map(
    (c) =>
      `${c.subject} (${c.file}${c.level === undefined ? ', offline' : `, ${c.level}`}): ${c.reasons.join('; ') || 'refused by the registry'}`,
  );
  throw new PipelineError(
    'SCHEMA_INCOMPATIBLE',
    `${refused.length} schema(s) refused:\n  - ${lines.join('\n  - ')}`,
    { details: { subjects: refused.map((c) => c.subject) } },
  );
}

export interface Registration {
  /** Undefined for a referenced type (catalog `references`), registered under its own subject. */
  topic: string | undefined;
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
 * Registers the catalog's schemas in catalog order, each entry's versions oldest first; idempotent. A new
 * schema is first checked by the project's rules against every registered version (stricter than the
 * registry). The first refusal stops everything after it (its error names the subject), so a subject never
 * gets a version whose predecessor is missing.
 */
export async function registerSchemas(
  catalog: Catalog,
  registry: RegistryClient,
  options: RegisterSchemasOptions = {},
): Promise<Registration[]> {
  const registrations: Registration[] = [];
  // Referenced types first: a schema that uses one names its registered version.
  for (const reference of catalog.references) {
    const registered = await registry.register(
      reference.subject,
      reference.schema as avro.Schema,
      reference.references,
    );
    const registration: Registration = {
      topic: undefined,
      subject: reference.subject,
      catalogVersion: 1,
      file: reference.file,
      ...registered,
    };
    registrations.push(registration);
    options.onRegistered?.(registration);
  }
  for (const entry of catalog.entries) {
    const versions = options.allVersions ? entry.versions : [entry.reader];
    for (const version of versions) {
      // The registries accept what the project's rules refuse (a decimal's scale, a timestamp's unit):
      // a schema that would read the registered versions wrong is not registered.
      if ((await registry.findSchema(entry.subject, version.schema, version.references)) === undefined) {
        const problems = await registeredVersionProblems({ ...entry, reader: version }, registry);
        if (problems.length > 0) {
          throw new PipelineError(
            'SCHEMA_INCOMPATIBLE',
            `${entry.subject}: ${version.file} was not registered: it cannot read the registered versions:\n  - ${problems.map(formatProblem).join('\n  - ')}`,
            { details: { subject: entry.subject, file: version.file, problems: problems.length } },
          );
        }
      }
      // Errors of register() name the subject already.
      const registered = await registry.register(entry.subject, version.schema, version.references);
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
