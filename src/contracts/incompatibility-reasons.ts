/**
 * Why a candidate schema breaks a subject's compatibility level, field by field. Registries differ in what
 * they say (Apicurio's verbose check returns no messages at all, Karapace's wording changes between
 * releases), so the pipeline names the offending fields itself, by the project's compatibility rules.
 */
import type avro from 'avsc';
import type { CompatibilityLevel } from './compatibility-level.ts';
import { readerProblems } from './compatibility-rules.ts';

function explain(reader: avro.Type, writer: avro.Type): string[] {
  return readerProblems(reader, writer).map(
    (p) =>
      `${p.fieldPath === '' ? 'the record' : `field "${p.fieldPath}"`}: ${p.writerType} read as ${p.readerType}: ${p.reason}`,
  );
}

/**
 * Reasons a candidate schema breaks the level against an existing one: BACKWARD asks whether the candidate
 * reads the existing data, FORWARD whether the existing readers read the candidate's, FULL both.
 * Transitive levels are checked against the one schema given (the registry's latest).
 */
export function incompatibilityReasons(
  level: CompatibilityLevel,
  candidate: avro.Type,
  existing: avro.Type,
): string[] {
  const backward = level.startsWith('BACKWARD') || level.startsWith('FULL');
  const forward = level.startsWith('FORWARD') || level.startsWith('FULL');
  return [
    ...(backward ? explain(candidate, existing).map((r) => `new schema reading old data: ${r}`) : []),
    ...(forward ? explain(existing, candidate).map((r) => `old schema reading new data: ${r}`) : []),
  ];
}
