/**
 * Why one schema cannot read data written with another, field by field. Registries differ in what they say
 * (Apicurio's verbose check returns no messages at all, Karapace's wording changes between releases), so the
 * pipeline names the offending fields itself; avsc's resolver stays the judge of what is readable.
 */
import avro from 'avsc';
import type { CompatibilityLevel } from './compatibility-level.ts';

/** Avro's name of a type: exactLongType is avsc's `abstract:long`, an Avro long all the same. */
function avroName(type: avro.Type): string {
  return type.typeName === 'abstract:long' ? 'long' : type.typeName;
}

function describe(type: avro.Type): string {
  if (type instanceof avro.types.LogicalType) {
    return `${type.typeName.replace('logical:', '')} (${avroName(type.underlyingType)})`;
  }
  return type.name ?? avroName(type);
}

function readable(reader: avro.Type, writer: avro.Type): boolean {
  try {
    reader.createResolver(writer);
    return true;
  } catch {
    return false;
  }
}

function label(path: string): string {
  return path === '' ? 'the record' : `field "${path}"`;
}

function explain(reader: avro.Type, writer: avro.Type, path: string, out: string[]): void {
  if (readable(reader, writer)) return;
  const before = out.length;
  if (reader instanceof avro.types.RecordType && writer instanceof avro.types.RecordType) {
    for (const field of reader.fields) {
      const fieldPath = path === '' ? field.name : `${path}.${field.name}`;
      const written = writer.fields.find((w) => w.name === field.name || field.aliases.includes(w.name));
      if (written === undefined) {
        if (field.defaultValue() === undefined) {
          out.push(`field "${fieldPath}" is not in the writer schema and has no default`);
        }
        continue;
      }
      explain(field.type, written.type, fieldPath, out);
    }
  } else if (reader instanceof avro.types.EnumType && writer instanceof avro.types.EnumType) {
    const unknown = writer.symbols.filter((s) => !reader.symbols.includes(s));
    if (unknown.length > 0) {
      out.push(
        `${label(path)}: enum symbol(s) ${unknown.join(', ')} can be written but not read (no enum default)`,
      );
    }
  } else if (reader instanceof avro.types.ArrayType && writer instanceof avro.types.ArrayType) {
    explain(reader.itemsType, writer.itemsType, `${path}[]`, out);
  } else if (reader instanceof avro.types.MapType && writer instanceof avro.types.MapType) {
    explain(reader.valuesType as avro.Type, writer.valuesType as avro.Type, `${path}{}`, out);
  } else if (
    writer instanceof avro.types.UnwrappedUnionType ||
    writer instanceof avro.types.WrappedUnionType
  ) {
    const unreadable = writer.types.filter((branch) => !readable(reader, branch));
    out.push(
      `${label(path)}: union branch(es) ${unreadable.map(describe).join(', ')} cannot be read as ${describe(reader)}`,
    );
  } else if (
    !(reader instanceof avro.types.UnwrappedUnionType || reader instanceof avro.types.WrappedUnionType)
  ) {
    out.push(`${label(path)}: ${describe(writer)} cannot be read as ${describe(reader)}`);
  }
  if (out.length === before)
    out.push(`${label(path)}: ${describe(writer)} cannot be read as ${describe(reader)}`);
}

/** Reasons `reader` cannot read data written with `writer`; empty when it can. */
export function readerProblems(reader: avro.Type, writer: avro.Type): string[] {
  const out: string[] = [];
  explain(reader, writer, '', out);
  return out;
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
    ...(backward ? readerProblems(candidate, existing).map((r) => `new schema reading old data: ${r}`) : []),
    ...(forward ? readerProblems(existing, candidate).map((r) => `old schema reading new data: ${r}`) : []),
  ];
}
