/**
 * The catalog (`schemas/catalog.json`) ties each topic to its schemas, table, key and write mode. The
 * pipeline is generic over it: a new topic is a schema, a catalog entry and a migration, no new code.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import avro from 'avsc';
import { PipelineError } from '../errors.ts';
import { type CompatibilityProblem, compatibilityProblems, formatProblem } from './compatibility-rules.ts';
import { exactLongType, logicalTypes } from './logical-types.ts';
import { definedName, inlineReferences, type LocalReference } from './schema-references.ts';

export type WriteMode = 'insert' | 'upsert';

export interface SchemaVersion {
  /** 1-based position in the catalog's list: the local version number, not the registry's. */
  version: number;
  /** Path relative to the schemas folder. */
  file: string;
  /** The schema as written in the file. */
  schema: avro.schema.RecordType;
  /** avsc type with the project's logical types (referenced types inlined). */
  type: avro.Type;
  /** The catalog references the schema uses by name, registered before it; empty for most. */
  references: LocalReference[];
}

/** A named type defined in its own file and registered under its own subject (catalog `references`). */
export interface CatalogReference extends LocalReference {
  /** Path relative to the schemas folder. */
  file: string;
  type: avro.Type;
  /** Earlier catalog references this one uses. */
  references: LocalReference[];
}

export interface CatalogEntry {
  topic: string;
  /** TopicNameStrategy: `<topic>-value`. */
  subject: string;
  /** Full name of the record, e.g. `shop.Order`. */
  record: string;
  /** Oldest first; the last one is the reader schema. */
  versions: SchemaVersion[];
  reader: SchemaVersion;
  /** Target table (unqualified: the connection's search_path decides the schema). */
  table: string;
  /** Field whose value is the Kafka message key and, for upserts, the table's primary key. */
  key: string;
  writeMode: WriteMode;
  /** For upserts: the field that orders versions of a key; an older version never overwrites a newer. */
  versionField?: string;
  /** Partitions when the pipeline creates the topic. Default 3. */
  partitions: number;
}

export interface Catalog {
  dir: string;
  /** Referenced types, in catalog order: registered before the topics' schemas. */
  references: CatalogReference[];
  entries: CatalogEntry[];
}

interface RawEntry {
  topic?: unknown;
  schemas?: unknown;
  table?: unknown;
  key?: unknown;
  writeMode?: unknown;
  versionField?: unknown;
  partitions?: unknown;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
const TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;

/** Parses one .avsc file into an avsc type; an error names the file and what is wrong. */
export function parseSchemaFile(
  dir: string,
  file: string,
  references: readonly LocalReference[] = [],
): { schema: avro.schema.RecordType; type: avro.Type; references: LocalReference[] } {
  const path = join(dir, file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new PipelineError(
      'SCHEMA_INVALID',
      `${file}: cannot read (${(error as NodeJS.ErrnoException).code})`,
      {
        cause: error,
        details: { file: path },
      },
    );
  }
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch (error) {
    throw new PipelineError('SCHEMA_INVALID', `${file}: not valid JSON: ${(error as Error).message}`, {
      cause: error,
      details: { file: path },
    });
  }
  const inlined = inlineReferences(schema, new Map(references.map((r) => [r.name, r.schema])));
  return {
    schema: schema as avro.schema.RecordType,
    type: parseSchema(inlined.schema, file),
    references: references.filter((r) => inlined.used.includes(r.name)),
  };
}

/**
 * Logical types the project has no mapping for, by field. avsc reads an unknown (or misspelt) logical type
 * as its underlying type without a word, even with assertLogicalTypes: a `timestamp-microseconds` would be
 * a plain number in the generated types and in the tables.
 */
function unknownLogicalTypes(schema: unknown, path: string): string[] {
  if (Array.isArray(schema)) return schema.flatMap((branch) => unknownLogicalTypes(branch, path));
  if (schema === null || typeof schema !== 'object') return [];
  const node = schema as {
    logicalType?: unknown;
    fields?: unknown;
    items?: unknown;
    values?: unknown;
    type?: unknown;
  };
  const found: string[] = [];
  if (node.logicalType !== undefined && !Object.hasOwn(logicalTypes, String(node.logicalType))) {
    found.push(
      `${path === '' ? 'the schema' : `field "${path}"`} has logical type ${JSON.stringify(node.logicalType)}, known are ${Object.keys(logicalTypes).join(', ')}`,
    );
  }
  if (Array.isArray(node.fields)) {
    for (const field of node.fields as { name?: unknown; type?: unknown }[]) {
      const name = typeof field?.name === 'string' ? field.name : '?';
      found.push(...unknownLogicalTypes(field?.type, path === '' ? name : `${path}.${name}`));
    }
  }
  if (node.items !== undefined) found.push(...unknownLogicalTypes(node.items, `${path}[]`));
  if (node.values !== undefined) found.push(...unknownLogicalTypes(node.values, `${path}{}`));
  if (typeof node.type === 'object') found.push(...unknownLogicalTypes(node.type, path));
  return found;
}

/** Fresh per parse: avsc keeps its registry of named types in the options object. */
function forSchemaOptions(): Partial<avro.ForSchemaOptions> {
  const long = exactLongType();
  // Logical types over a long: the first time avsc meets the schema object it builds the logical type; the
  // second time, the same object, it builds the logical type's underlying long.
  const logicalLongs = new WeakSet<object>();
  return {
    logicalTypes,
    // Every Avro long, referenced by name or defined as an object, including under a logical type.
    typeHook(schema: avro.Schema) {
      if (schema === 'long') return long;
      if (typeof schema !== 'object' || schema === null || (schema as { type?: unknown }).type !== 'long') {
        return undefined;
      }
      if ((schema as { logicalType?: unknown }).logicalType === undefined) return long;
      if (logicalLongs.has(schema)) return long;
      logicalLongs.add(schema);
      return undefined;
    },
    // Without this, a known logical type with bad attributes (a decimal without precision) silently
    // becomes its underlying type.
    assertLogicalTypes: true,
  };
}

/**
 * The top-level field an unparsable record schema fails at: avsc's messages name the bad type but not
 * where it is. Found by parsing ever longer prefixes of the fields (earlier fields keep their named types).
 */
function faultyField(schema: unknown): string | undefined {
  const record = schema as { type?: unknown; fields?: unknown };
  if (record?.type !== 'record' || !Array.isArray(record.fields)) return undefined;
  for (let i = 1; i <= record.fields.length; i++) {
    try {
      avro.Type.forSchema(
        { ...record, fields: record.fields.slice(0, i) } as avro.Schema,
        forSchemaOptions(),
      );
    } catch {
      const name = (record.fields[i - 1] as { name?: unknown })?.name;
      return typeof name === 'string' ? name : `#${i - 1}`;
    }
  }
  return undefined;
}

/** avsc type of a schema with the project's logical types; Avro rule violations become SCHEMA_INVALID. */
export function parseSchema(schema: unknown, origin: string): avro.Type {
  const unknown = unknownLogicalTypes(schema, '');
  if (unknown.length > 0) {
    throw new PipelineError('SCHEMA_INVALID', `${origin}: ${unknown.join('; ')}`, {
      details: { file: origin },
    });
  }
  let type: avro.Type;
  try {
    type = avro.Type.forSchema(schema as avro.Schema, forSchemaOptions());
  } catch (error) {
    const field = faultyField(schema);
    throw new PipelineError(
      'SCHEMA_INVALID',
      `${origin}: ${field === undefined ? '' : `field "${field}": `}${(error as Error).message}`,
      { cause: error, details: { file: origin, ...(field === undefined ? {} : { field }) } },
    );
  }
  if (type.typeName !== 'record') {
    throw new PipelineError(
      'SCHEMA_INVALID',
      `${origin}: the top level must be a record, not ${type.typeName}`,
      {
        details: { file: origin },
      },
    );
  }
  return type;
}

/** Problems of reading each older catalog version with the reader (the last one). */
export function catalogVersionProblems(
  subject: string,
  versions: readonly SchemaVersion[],
): CompatibilityProblem[] {
  const reader = versions.at(-1);
  if (reader === undefined) return [];
  return compatibilityProblems(
    subject,
    reader.type,
    versions.slice(0, -1).map((v) => ({ version: catalogVersionName(v), schema: v.type })),
  );
}

/** How a catalog version is named in problems: `catalog v1 (shop/order.v1.avsc)`. */
export function catalogVersionName(version: SchemaVersion): string {
  return `catalog v${version.version} (${version.file})`;
}

export interface LoadCatalogOptions {
  /**
   * Check that the reader reads every older catalog version. Default true; `schemas check` turns it off to
   * report these problems itself, beside the registry's, as SCHEMA_INCOMPATIBLE.
   */
  checkVersions?: boolean;
}

export function loadCatalog(dir: string, options: LoadCatalogOptions = {}): Catalog {
  const catalogPath = join(dir, 'catalog.json');
  let raw: { topics?: RawEntry[]; references?: unknown };
  try {
    raw = JSON.parse(readFileSync(catalogPath, 'utf8'));
  } catch (error) {
    throw new PipelineError('CATALOG_INVALID', `${catalogPath}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (!Array.isArray(raw.topics) || raw.topics.length === 0) {
    throw new PipelineError('CATALOG_INVALID', `${catalogPath}: "topics" must be a non-empty list`);
  }
  const problems: string[] = [];
  const references = loadReferences(dir, raw.references, problems);
  const entries: CatalogEntry[] = [];
  const seen = { topics: new Set<string>(), tables: new Set<string>() };
  for (const [index, item] of raw.topics.entries()) {
    const where = `topics[${index}]${typeof item.topic === 'string' ? ` (${item.topic})` : ''}`;
    const problem = (text: string) => problems.push(`${where}: ${text}`);
    if (typeof item.topic !== 'string' || !TOPIC.test(item.topic)) {
      problem('"topic" must be a Kafka topic name');
      continue;
    }
    if (seen.topics.has(item.topic)) {
      problem('topic listed twice');
      continue;
    }
    seen.topics.add(item.topic);
    if (typeof item.table !== 'string' || !IDENTIFIER.test(item.table)) {
      problem('"table" must be a lower-case SQL identifier');
      continue;
    }
    if (seen.tables.has(item.table)) {
      problem(`table "${item.table}" is used by two topics`);
      continue;
    }
    seen.tables.add(item.table);
    if (item.writeMode !== 'insert' && item.writeMode !== 'upsert') {
      problem('"writeMode" must be insert or upsert');
      continue;
    }
    if (
      !Array.isArray(item.schemas) ||
      item.schemas.length === 0 ||
      !item.schemas.every((s) => typeof s === 'string')
    ) {
      problem('"schemas" must list at least one .avsc file, oldest first');
      continue;
    }
    const partitions = item.partitions ?? 3;
    if (!Number.isInteger(partitions) || (partitions as number) < 1) {
      problem('"partitions" must be >= 1');
      continue;
    }

    let versions: SchemaVersion[];
    try {
      versions = (item.schemas as string[]).map((file, i) => ({
        version: i + 1,
        file,
        ...parseSchemaFile(dir, file, references),
      }));
    } catch (error) {
      problem((error as Error).message);
      continue;
    }
    const reader = versions.at(-1)!;
    const record = (reader.type as avro.types.RecordType).name ?? '';
    for (const v of versions) {
      if ((v.type as avro.types.RecordType).name !== record) {
        problem(`${v.file} defines ${(v.type as avro.types.RecordType).name}, the others ${record}`);
      }
    }
    const fields = (reader.type as avro.types.RecordType).fields;
    const fieldNames = new Set(fields.map((f) => f.name));
    for (const f of fields) {
      if (!IDENTIFIER.test(f.name))
        problem(`field "${f.name}" of ${reader.file} is not a lower-case SQL identifier`);
      if (f.name.startsWith('_kafka_') || f.name === '_ingested_at')
        problem(`field "${f.name}" uses a reserved name`);
    }
    if (typeof item.key !== 'string' || !fieldNames.has(item.key)) {
      problem(`"key" must name a field of ${reader.file}`);
      continue;
    }
    if (item.writeMode === 'upsert') {
      if (typeof item.versionField !== 'string' || !fieldNames.has(item.versionField)) {
        problem('"versionField" must name a field of the reader schema for upserts');
        continue;
      }
      // The guard `stored < incoming` is never true against a NULL: a row with no version could never be
      // replaced. Versions are whole numbers (or timestamps), never null.
      const versionType = fields.find((f) => f.name === item.versionField)!.type;
      const orderable = [
        'int',
        'long',
        'abstract:long',
        'logical:timestamp-millis',
        'logical:timestamp-micros',
      ];
      if (!orderable.includes(versionType.typeName)) {
        problem(
          `"versionField" ${item.versionField} must be a non-null int, long or timestamp, not ${versionType.typeName}`,
        );
        continue;
      }
    }
    // Every older version must be readable by the reader schema, by the same rules as `schemas check`
    // and the start-up gate (stricter than the registries' where logical types are concerned).
    if (options.checkVersions !== false) {
      for (const p of catalogVersionProblems(`${item.topic}-value`, versions)) problem(formatProblem(p));
    }
    entries.push({
      topic: item.topic,
      subject: `${item.topic}-value`,
      record,
      versions,
      reader,
      table: item.table,
      key: item.key,
      writeMode: item.writeMode,
      ...(typeof item.versionField === 'string' ? { versionField: item.versionField } : {}),
      partitions: partitions as number,
    });
  }
  if (problems.length > 0) {
    throw new PipelineError('CATALOG_INVALID', `${catalogPath}:\n  - ${problems.join('\n  - ')}`, {
      details: { file: catalogPath },
    });
  }
  return { dir: resolve(dir), references, entries };
}

/**
 * The catalog's `references`: `[{ "subject": "shop.Money", "schema": "shop/money.v1.avsc" }]`, each a named
 * record in its own file. A reference may use the ones listed before it.
 */
function loadReferences(dir: string, raw: unknown, problems: string[]): CatalogReference[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    problems.push('"references" must be a list of { "subject", "schema" }');
    return [];
  }
  const references: CatalogReference[] = [];
  for (const [index, item] of (raw as { subject?: unknown; schema?: unknown }[]).entries()) {
    const where = `references[${index}]`;
    if (typeof item?.subject !== 'string' || !TOPIC.test(item.subject) || typeof item.schema !== 'string') {
      problems.push(`${where}: needs "subject" (a subject name) and "schema" (an .avsc file)`);
      continue;
    }
    try {
      const parsed = parseSchemaFile(dir, item.schema, references);
      const name = definedName(parsed.schema)!;
      if (references.some((r) => r.name === name || r.subject === item.subject)) {
        problems.push(`${where} (${item.subject}): ${name} or its subject is listed twice`);
        continue;
      }
      // Registered schemas refer to the referenced ones as written, so the inlined form is only local.
      references.push({
        name,
        subject: item.subject,
        file: item.schema,
        schema: parsed.schema,
        type: parsed.type,
        references: parsed.references,
      });
    } catch (error) {
      problems.push(`${where} (${item.subject}): ${(error as Error).message}`);
    }
  }
  return references;
}

/** The entry of a topic; UNKNOWN_TOPIC names the topics there are. */
export function entryFor(catalog: Catalog, topic: string): CatalogEntry {
  const entry = catalog.entries.find((e) => e.topic === topic);
  if (entry === undefined) {
    throw new PipelineError(
      'UNKNOWN_TOPIC',
      `topic "${topic}" is not in the catalog (known: ${catalog.entries.map((e) => e.topic).join(', ')})`,
      { details: { topic } },
    );
  }
  return entry;
}
