/**
 * The project's own compatibility verdict: can a reader schema read data written with a writer schema, such
 * that every old event lands with the value it was written with? avsc's resolver judges the Avro structure,
 * but it ignores what logical types mean: to it a decimal of scale 2 and one of scale 3 are both "bytes", a
 * timestamp in millis and one in micros both "long". Both registries (Karapace, Apicurio) call such changes
 * BACKWARD-compatible, and every old value would then be read wrong. These rules add the checks avsc does
 * not make; `schemas check`, catalog load and the start-up gate all use them, so they say the same words.
 */
import avro from 'avsc';
import { parseSchema } from './catalog.ts';

/** One reason a reader cannot read what a writer wrote. */
export interface CompatibilityProblem {
  subject: string;
  /** Which writer version: `version 3 (id 17)` for a registered one, `catalog v1 (shop/order.v1.avsc)`. */
  version: string;
  /** Dotted path of the field (`items[].price`, `tags{}`), `` for the record itself. */
  fieldPath: string;
  writerType: string;
  readerType: string;
  reason: string;
}

type FieldProblem = Omit<CompatibilityProblem, 'subject' | 'version'>;

/** The one wording of a problem, at `schemas check`, catalog load and the start-up gate. */
export function formatProblem(problem: CompatibilityProblem): string {
  const where = problem.fieldPath === '' ? 'the record' : `field "${problem.fieldPath}"`;
  return `${problem.subject} ${problem.version}: ${where}: ${problem.writerType} read as ${problem.readerType}: ${problem.reason}`;
}

/** Avro's name of a type: exactLongType is avsc's `abstract:long`, an Avro long all the same. */
function avroName(type: avro.Type): string {
  return type.typeName === 'abstract:long' ? 'long' : type.typeName;
}

function logicalName(type: avro.Type): string | undefined {
  return type instanceof avro.types.LogicalType ? type.typeName.replace('logical:', '') : undefined;
}

function underlying(type: avro.Type): avro.Type {
  return type instanceof avro.types.LogicalType ? type.underlyingType : type;
}

/** `decimal(10,2) (bytes)`, `timestamp-micros (long)`, `shop.Kind`, `fixed Hash(16)`, `["null","string"]`. */
export function describeType(type: avro.Type): string {
  if (type instanceof avro.types.LogicalType) {
    const decimal = type as unknown as { precision?: number; scale?: number };
    const args = logicalName(type) === 'decimal' ? `(${decimal.precision},${decimal.scale})` : '';
    return `${logicalName(type)}${args} (${describeType(type.underlyingType)})`;
  }
  if (type instanceof avro.types.FixedType) return `fixed ${type.name}(${type.size})`;
  if (type instanceof avro.types.UnwrappedUnionType || type instanceof avro.types.WrappedUnionType) {
    return `[${type.types.map(describeType).join(', ')}]`;
  }
  if (type instanceof avro.types.ArrayType) return `array<${describeType(type.itemsType)}>`;
  if (type instanceof avro.types.MapType) return `map<${describeType(type.valuesType as avro.Type)}>`;
  return type.name ?? avroName(type);
}

function isUnion(type: avro.Type): type is avro.types.UnwrappedUnionType | avro.types.WrappedUnionType {
  return type instanceof avro.types.UnwrappedUnionType || type instanceof avro.types.WrappedUnionType;
}

function readable(reader: avro.Type, writer: avro.Type): boolean {
  try {
    reader.createResolver(writer);
    return true;
  } catch {
    return false;
  }
}

/** Why changing a field's logical type misreads old values; undefined when the logical types agree. */
function logicalChange(writer: avro.Type, reader: avro.Type): string | undefined {
  const w = logicalName(writer);
  const r = logicalName(reader);
  if (w === r) return undefined;
  const timestamps = ['timestamp-millis', 'timestamp-micros'];
  if (w !== undefined && r !== undefined && timestamps.includes(w) && timestamps.includes(r)) {
    return `the timestamp unit changes from ${w.slice(10)} to ${r.slice(10)}: every old value would be read 1000 times ${w === 'timestamp-millis' ? 'too early' : 'too late'}`;
  }
  if (w === undefined) {
    const meaning: Record<string, string> = {
      decimal: 'old bytes carry no scale: they cannot be read as a decimal',
      'timestamp-millis': 'old values carry no unit: they cannot be read as an instant',
      'timestamp-micros': 'old values carry no unit: they cannot be read as an instant',
      date: 'old numbers are not known to be days since 1970-01-01',
      uuid: 'old strings are not known to be UUIDs (a non-UUID would be refused)',
    };
    return `the logical type ${r} is added: ${meaning[r!] ?? 'old values were written without it'}`;
  }
  if (r === undefined) {
    return `the logical type ${w} is dropped: old values would be read as bare ${avroName(underlying(writer))}, not as ${w}`;
  }
  return `the logical type changes from ${w} to ${r}`;
}

function decimalChange(writer: avro.Type, reader: avro.Type): string[] {
  if (logicalName(writer) !== 'decimal' || logicalName(reader) !== 'decimal') return [];
  const w = writer as unknown as { precision: number; scale: number };
  const r = reader as unknown as { precision: number; scale: number };
  const reasons: string[] = [];
  if (w.scale !== r.scale) {
    reasons.push(
      `the decimal scale changes from ${w.scale} to ${r.scale}: every old value would be read ${10 ** Math.abs(r.scale - w.scale)} times too ${r.scale > w.scale ? 'small' : 'large'}`,
    );
  }
  if (r.precision < w.precision) {
    reasons.push(
      `the decimal precision shrinks from ${w.precision} to ${r.precision}: old values with more digits would not fit`,
    );
  }
  return reasons;
}

/** The reader branch avsc resolves a writer branch to: the same kind first, then any readable one. */
function readerBranch(reader: avro.Type[], writer: avro.Type): avro.Type | undefined {
  const same = reader.find(
    (r) =>
      avroName(underlying(r)) === avroName(underlying(writer)) &&
      (r.name === undefined || r.name === writer.name) &&
      readable(underlying(r), underlying(writer)),
  );
  return same ?? reader.find((r) => readable(r, writer));
}

class Walk {
  readonly problems: FieldProblem[] = [];
  /** Record pairs already compared: a recursive schema (a tree of records) would never end otherwise. */
  private readonly visited = new Map<avro.Type, Set<avro.Type>>();
  /** How often a visited pair was met again: what is unreadable there is explained where it was first met. */
  private revisits = 0;

  private add(path: string, writer: avro.Type, reader: avro.Type, reason: string): void {
    this.problems.push({
      fieldPath: path,
      writerType: describeType(writer),
      readerType: describeType(reader),
      reason,
    });
  }

  compare(reader: avro.Type, writer: avro.Type, path: string): void {
    if (isUnion(writer)) {
      for (const branch of writer.types) this.compare(reader, branch, path);
      return;
    }
    if (isUnion(reader)) {
      const branch = readerBranch(reader.types, writer);
      if (branch === undefined) {
        this.add(path, writer, reader, 'no branch of the union can read it');
        return;
      }
      this.compare(branch, writer, path);
      return;
    }
    const logical = logicalChange(writer, reader);
    if (logical !== undefined) {
      this.add(path, writer, reader, logical);
      return;
    }
    // Already compared higher up in a recursive schema: its problems are named there.
    if (this.visited.get(reader)?.has(writer)) {
      this.revisits++;
      return;
    }
    const before = this.problems.length;
    const revisits = this.revisits;
    for (const reason of decimalChange(writer, reader)) this.add(path, writer, reader, reason);
    this.structure(underlying(reader), underlying(writer), path);
    // Whatever avsc refuses that no rule above explained is still named, with avsc's own verdict.
    if (this.problems.length === before && this.revisits === revisits && !readable(reader, writer)) {
      this.add(
        path,
        writer,
        reader,
        `Avro has no resolution from ${avroName(underlying(writer))} to ${avroName(underlying(reader))}`,
      );
    }
  }

  private structure(reader: avro.Type, writer: avro.Type, path: string): void {
    if (reader instanceof avro.types.RecordType && writer instanceof avro.types.RecordType) {
      this.visited.set(reader, (this.visited.get(reader) ?? new Set<avro.Type>()).add(writer));
      for (const field of reader.fields) {
        const fieldPath = path === '' ? field.name : `${path}.${field.name}`;
        const written = writer.fields.find((w) => w.name === field.name || field.aliases.includes(w.name));
        if (written === undefined) {
          this.missingField(field, fieldPath);
          continue;
        }
        this.compare(field.type, written.type, fieldPath);
      }
    } else if (reader instanceof avro.types.EnumType && writer instanceof avro.types.EnumType) {
      const removed = writer.symbols.filter((s) => !reader.symbols.includes(s));
      const fallback = (reader as unknown as { default?: string }).default;
      if (removed.length > 0 && fallback === undefined) {
        this.add(
          path,
          writer,
          reader,
          `enum symbol(s) ${removed.join(', ')} removed without an enum default: old events with them could not be read`,
        );
      }
    } else if (reader instanceof avro.types.FixedType && writer instanceof avro.types.FixedType) {
      if (reader.size !== writer.size) {
        this.add(path, writer, reader, `the fixed size changes from ${writer.size} to ${reader.size} bytes`);
      }
    } else if (reader instanceof avro.types.ArrayType && writer instanceof avro.types.ArrayType) {
      this.compare(reader.itemsType, writer.itemsType, `${path}[]`);
    } else if (reader instanceof avro.types.MapType && writer instanceof avro.types.MapType) {
      this.compare(reader.valuesType as avro.Type, writer.valuesType as avro.Type, `${path}{}`);
    }
  }

  /**
   * A field the writer did not have is filled from its default: there must be one. (That a default matches
   * its type is checked when a schema is parsed: a writer version with a bad default is a problem of its
   * own, see compatibilityProblems.)
   */
  private missingField(field: avro.types.Field, path: string): void {
    if (field.defaultValue() !== undefined) return;
    this.problems.push({
      fieldPath: path,
      writerType: '(absent)',
      readerType: describeType(field.type),
      reason: 'the field is not in the writer schema and has no default',
    });
  }
}

/** Why `reader` cannot read every value written with `writer`; empty when it can. */
export function readerProblems(reader: avro.Type, writer: avro.Type): FieldProblem[] {
  const walk = new Walk();
  walk.compare(reader, writer, '');
  return walk.problems;
}

/** One writer version to check, as the registry or the catalog holds it. */
export interface WriterVersion {
  /** How the version is named in messages, e.g. `version 3 (id 17)` or `catalog v1 (shop/order.v1.avsc)`. */
  version: string;
  /** The schema: parsed JSON (a registered version) or an avsc type (a catalog version). */
  schema: unknown;
}

/**
 * Every problem of reading the given writer versions with the reader. A writer schema this project cannot
 * parse (an unknown logical type, a default that does not match its type) is itself a problem: its events
 * could not be decoded either.
 */
export function compatibilityProblems(
  subject: string,
  reader: avro.Type,
  writers: readonly WriterVersion[],
): CompatibilityProblem[] {
  const problems: CompatibilityProblem[] = [];
  for (const writer of writers) {
    let type: avro.Type;
    try {
      type = avro.Type.isType(writer.schema) ? (writer.schema as avro.Type) : parseSchema(writer.schema, '');
    } catch (error) {
      const field = (error as { details?: { field?: unknown } }).details?.field;
      problems.push({
        subject,
        version: writer.version,
        fieldPath: typeof field === 'string' ? field : '',
        writerType: 'a schema that does not parse',
        readerType: describeType(reader),
        // parseSchema's message starts with the origin (empty here) and the field, both said already.
        reason: (error as Error).message.replace(/^: (field "[^"]*": )?/, ''),
      });
      continue;
    }
    for (const problem of readerProblems(reader, type)) {
      problems.push({ subject, version: writer.version, ...problem });
    }
  }
  return problems;
}
