/**
 * The registry operations the pipeline needs, correct on Karapace (production) as on Apicurio (local):
 * decisions rest on the HTTP status and `error_code`, never on message text, and schemas are compared
 * parsed, never as strings (Karapace answers compact JSON with sorted keys). Every call goes through the
 * API client of @kafkajs/confluent-schema-registry (registry-http.ts says what is added to it and why).
 */
import type avro from 'avsc';
import type { RegistrySettings } from '../config.ts';
import { PipelineError, PoisonMessageError, TransientError } from '../errors.ts';
import { parseSchema } from './catalog.ts';
import { type CompatibilityLevel, isCompatibilityLevel } from './compatibility-level.ts';
import { incompatibilityReasons } from './incompatibility-reasons.ts';
import { RegistryHttp, type RegistryHttpOptions, type RegistryResponse } from './registry-http.ts';
import { inlineReferences, type LocalReference, type RegistryReference } from './schema-references.ts';

/** Confluent error codes the client decides on. */
const ERROR = {
  subjectNotFound: 40401,
  versionNotFound: 40402,
  schemaNotFound: 40403,
  subjectConfigNotFound: 40408,
  incompatible: 409,
  invalidSchema: 42201,
} as const;

export interface RegisteredSchema {
  /** Global schema id: what the wire format carries. */
  id: number;
  /** The subject's version number (the registry's, not the catalog's). */
  version: number;
  /** False when the schema was already registered under the subject (nothing changed). */
  created: boolean;
}

export interface CompatibilityResult {
  compatible: boolean;
  /** Why not, naming fields; empty when compatible. */
  reasons: string[];
  /** False when the subject has no version yet: nothing to compare with, so compatible. */
  compared: boolean;
  level: CompatibilityLevel;
  /** Set when the registry could not give its verdict and the level's rule was applied locally. */
  registryNote?: string;
}

export interface SubjectCompatibility {
  level: CompatibilityLevel;
  /** Whether the subject has its own level or inherits the registry's global one. */
  source: 'subject' | 'global';
}

export interface SubjectListing {
  subject: string;
  versions: { version: number; id: number }[];
  compatibility: SubjectCompatibility;
}

export interface SubjectVersion {
  subject: string;
  version: number;
  id: number;
  schema: string;
  schemaType?: string;
  references?: RegistryReference[];
}

/** The body of the calls that take a schema: its text and, when it uses referenced types, their versions. */
function schemaBody(schema: avro.Schema, references: readonly RegistryReference[]) {
  return { schema: JSON.stringify(schema), ...(references.length > 0 ? { references } : {}) };
}

/** Schemas parsed and re-exported by avsc: equal when they describe the same Avro schema. */
function sameSchema(a: unknown, b: unknown): boolean {
  const normal = (schema: unknown) =>
    JSON.stringify(parseSchema(schema, 'registry schema').schema({ exportAttrs: true }));
  try {
    return normal(a) === normal(b);
  } catch {
    // A version this project cannot parse (another team's, not a record) is not ours.
    return false;
  }
}

/** A catalog schema with its referenced types inlined, as a registered one is compared. */
function inlineLocal(schema: unknown, references: readonly LocalReference[]): unknown {
  if (references.length === 0) return schema;
  return inlineReferences(schema, new Map(references.map((r) => [r.name, r.schema]))).schema;
}

export class RegistryClient {
  private readonly http: RegistryHttp;
  /** Writer schemas by id; a pending promise is shared by concurrent misses, dropped when it fails. */
  private readonly schemas = new Map<number, Promise<avro.Schema>>();

  constructor(settings: RegistrySettings, options: RegistryHttpOptions = {}) {
    this.http = new RegistryHttp(settings, options);
  }

  close(): void {
    this.http.close();
  }

  /**
   * The writer schema (parsed JSON) of a schema id, as the consumer's decoder needs it to build a resolver
   * with the project's logical types. Cached for the life of the client (an id's schema never changes);
   * concurrent misses for one id share one request.
   *
   * @throws PoisonMessageError SCHEMA_ID_UNKNOWN when the registry does not know the id (40403), and
   *   PAYLOAD_UNDECODABLE when the id is not an Avro schema; TransientError REGISTRY_UNAVAILABLE when the
   *   registry cannot be reached (not cached: the next call asks again).
   */
  schemaById(id: number): Promise<avro.Schema> {
    let pending = this.schemas.get(id);
    if (pending === undefined) {
      pending = this.fetchSchema(id);
      this.schemas.set(id, pending);
      const settled = pending;
      settled.catch(() => {
        if (this.schemas.get(id) === settled) this.schemas.delete(id);
      });
    }
    return pending;
  }

  private async fetchSchema(id: number): Promise<avro.Schema> {
    const response = await this.http.call(`GET /schemas/ids/${id}`, (api) => api.Schema.find({ id }));
    // Only the registry's own "schema not found" makes a message poison; a bare 404 (a proxy, a wrong base
    // path) is the registry not being reachable as configured.
    if (response.status === 404 && response.errorCode === undefined) {
      throw new TransientError(
        'REGISTRY_UNAVAILABLE',
        `schema id ${id}: HTTP 404 without a registry error_code`,
        {
          details: { schemaId: id },
        },
      );
    }
    if (response.status === 404 && response.errorCode === ERROR.schemaNotFound) {
      throw new PoisonMessageError('SCHEMA_ID_UNKNOWN', `schema id ${id} is not in the registry`, {
        details: { schemaId: id },
      });
    }
    const body = this.expectOk<{ schema: string; schemaType?: string; references?: RegistryReference[] }>(
      response,
      `schema id ${id}`,
    );
    if (body.schemaType !== undefined && body.schemaType !== 'AVRO') {
      throw new PoisonMessageError(
        'PAYLOAD_UNDECODABLE',
        `schema id ${id} is a ${body.schemaType} schema, not Avro`,
        { details: { schemaId: id } },
      );
    }
    return (await this.withReferences(body, `schema id ${id}`)) as avro.Schema;
  }

  /**
   * A registered schema as one standalone schema: its referenced types (fetched by subject and version,
   * recursively, as the library's getSchema does) inlined where first used. A schema without references
   * is returned parsed, unchanged.
   */
  async withReferences(
    registered: { schema: string; references?: RegistryReference[] },
    what: string,
  ): Promise<unknown> {
    const definitions = new Map<string, unknown>();
    const seen = new Set<string>();
    const collect = async (references: readonly RegistryReference[] | undefined): Promise<void> => {
      for (const reference of references ?? []) {
        const key = `${reference.subject}\0${reference.version}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const found = await this.subjectVersion(reference.subject, reference.version);
        await collect(found.references);
        try {
          definitions.set(reference.name, JSON.parse(found.schema));
        } catch (error) {
          throw new PoisonMessageError(
            'PAYLOAD_UNDECODABLE',
            `${what}: referenced ${reference.name} (${reference.subject} version ${reference.version}) is not JSON`,
            { cause: error },
          );
        }
      }
    };
    await collect(registered.references);
    let schema: unknown;
    try {
      schema = JSON.parse(registered.schema);
    } catch {
      return registered.schema;
    }
    return definitions.size === 0 ? schema : inlineReferences(schema, definitions).schema;
  }

  /**
   * The registry versions of catalog references: each must be registered under its subject already.
   *
   * @throws PipelineError CONTRACT_MISMATCH naming the reference that is not registered.
   */
  async referenceVersions(references: readonly LocalReference[]): Promise<RegistryReference[]> {
    const resolved: RegistryReference[] = [];
    for (const reference of references) {
      const found = await this.findSchema(reference.subject, reference.schema as avro.Schema);
      if (found === undefined) {
        throw new PipelineError(
          'CONTRACT_MISMATCH',
          `the referenced type ${reference.name} is not registered under ${reference.subject}: run \`pipeline schemas register\` first`,
          { details: { subject: reference.subject } },
        );
      }
      resolved.push({ name: reference.name, subject: reference.subject, version: found.version });
    }
    return resolved;
  }

  /**
   * Registers a schema under a subject; idempotent: a schema already registered there returns its id and
   * version with `created: false`. A new subject gets its own BACKWARD level (after its first version:
   * Apicurio refuses a level for a subject that does not exist yet).
   *
   * @throws PipelineError SCHEMA_INCOMPATIBLE (409) with `details.reasons` naming fields, SCHEMA_INVALID
   *   (42201), REGISTRY_REJECTED (auth or anything else refused).
   */
  async register(
    subject: string,
    schema: avro.Schema,
    references: readonly LocalReference[] = [],
  ): Promise<RegisteredSchema> {
    const existing = await this.findSchema(subject, schema, references);
    if (existing !== undefined) return { ...existing, created: false };
    const versions = await this.referenceVersions(references);
    const newSubject = (await this.versions(subject)).length === 0;
    const response = await this.http.call(`POST /subjects/${subject}/versions`, (api) =>
      api.Subject.register({ subject, body: schemaBody(schema, versions) }),
    );
    if (response.status === 409) {
      const level = (await this.getCompatibility(subject)).level;
      const reasons = await this.localReasons(subject, schema, level, references);
      throw new PipelineError(
        'SCHEMA_INCOMPATIBLE',
        `subject ${subject} refused the schema (compatibility ${level}): ${reasons.join('; ') || this.registryMessage(response)}`,
        { details: { subject, level, reasons } },
      );
    }
    const { id } = this.expectOk<{ id: number }>(response, `registering under ${subject}`, subject);
    if (newSubject) await this.setCompatibility(subject, 'BACKWARD');
    const registered = await this.findSchema(subject, schema, references);
    return {
      id,
      version: registered?.version ?? (await this.subjectVersion(subject, 'latest')).version,
      created: true,
    };
  }

  /**
   * The id of a schema already registered under a subject (the producer's lookup: registering is not its
   * job), or undefined. Asks the registry's lookup first, then compares the subject's versions parsed, in
   * case a registry's lookup compares text.
   */
  async findSchema(
    subject: string,
    schema: avro.Schema,
    references: readonly LocalReference[] = [],
  ): Promise<{ id: number; version: number } | undefined> {
    // A referenced type not registered yet: neither is anything that refers to it.
    let versions: RegistryReference[];
    try {
      versions = await this.referenceVersions(references);
    } catch (error) {
      if (error instanceof PipelineError && error.code === 'CONTRACT_MISMATCH') return undefined;
      throw error;
    }
    const response = await this.http.call(`POST /subjects/${subject}`, (api) =>
      api.Subject.registered({ subject, body: schemaBody(schema, versions) }),
    );
    if (response.status === 404) {
      if (response.errorCode === ERROR.subjectNotFound) return undefined;
      const local = inlineLocal(schema, references);
      for (const version of (await this.versions(subject)).reverse()) {
        const candidate = await this.subjectVersion(subject, version);
        if (
          (candidate.schemaType ?? 'AVRO') === 'AVRO' &&
          sameSchema(await this.withReferences(candidate, `${subject} version ${version}`), local)
        ) {
          return { id: candidate.id, version: candidate.version };
        }
      }
      return undefined;
    }
    const body = this.expectOk<SubjectVersion>(response, `looking up a schema under ${subject}`, subject);
    return { id: body.id, version: body.version };
  }

  /** Like findSchema, for producers: a schema nobody registered is a contract problem, not a retry. */
  async schemaIdOf(
    subject: string,
    schema: avro.Schema,
    references: readonly LocalReference[] = [],
  ): Promise<number> {
    const found = await this.findSchema(subject, schema, references);
    if (found === undefined) {
      throw new PipelineError(
        'CONTRACT_MISMATCH',
        `the schema is not registered under ${subject}: run \`pipeline schemas register\` first`,
        { details: { subject } },
      );
    }
    return found.id;
  }

  /**
   * Tests a schema against the subject's latest version under the subject's level. A subject without
   * versions is compatible (Karapace answers 404 there, Apicurio true). Reasons come from the registry's
   * verbose answer where it gives any, and from a local field-by-field comparison.
   */
  async checkCompatibility(
    subject: string,
    schema: avro.Schema,
    references: readonly LocalReference[] = [],
  ): Promise<CompatibilityResult> {
    const { level } = await this.getCompatibility(subject);
    let versions: RegistryReference[];
    try {
      versions = await this.referenceVersions(references);
    } catch (error) {
      if (!(error instanceof PipelineError) || error.code !== 'CONTRACT_MISMATCH') throw error;
      // A referenced type not registered yet (`schemas check` before `schemas register`): the registry
      // cannot be asked, the level's rule is applied here.
      return this.localCompatibility(subject, schema, level, references, error.message);
    }
    const response = await this.http.call(`POST /compatibility/subjects/${subject}/versions/latest`, (api) =>
      api.Subject.compatible({
        subject,
        version: 'latest',
        verbose: true,
        body: schemaBody(schema, versions),
      }),
    );
    if (
      response.status === 404 &&
      (response.errorCode === ERROR.subjectNotFound || response.errorCode === ERROR.versionNotFound)
    ) {
      return { compatible: true, reasons: [], compared: false, level };
    }
    // Apicurio 3.3's ccompat API registers and serves schemas with references but cannot check them
    // (42201 "Syntax violation", for the stored version too); Karapace can. Then the level's rule is
    // applied here, on the schemas with their referenced types inlined.
    if (references.length > 0 && response.errorCode === ERROR.invalidSchema) {
      return this.localCompatibility(
        subject,
        schema,
        level,
        references,
        `the registry could not check a schema with references (${this.registryMessage(response)})`,
      );
    }
    const body = this.expectOk<{ is_compatible: boolean; messages?: unknown }>(
      response,
      `checking compatibility under ${subject}`,
      subject,
    );
    if (body.is_compatible) {
      return { compatible: true, reasons: [], compared: (await this.versions(subject)).length > 0, level };
    }
    const local = await this.localReasons(subject, schema, level, references);
    const remote = Array.isArray(body.messages) ? body.messages.map(String) : [];
    return {
      compatible: false,
      reasons: [...local, ...remote.map((m) => `registry: ${m}`)],
      compared: true,
      level,
    };
  }

  /** The subject's level, or the global one when the subject has none (Karapace: 404 with 40408 or 40401). */
  async getCompatibility(subject?: string): Promise<SubjectCompatibility> {
    if (subject !== undefined) {
      const response = await this.http.call(`GET /config/${subject}`, (api) =>
        api.Subject.config({ subject }),
      );
      if (response.status !== 404) {
        const body = this.expectOk<{ compatibilityLevel?: unknown; compatibility?: unknown }>(
          response,
          `reading the level of ${subject}`,
          subject,
        );
        return { level: this.level(body.compatibilityLevel ?? body.compatibility), source: 'subject' };
      }
    }
    // The library's config resource is per subject; mappersmith's `path` parameter reaches the global one.
    const response = await this.http.call('GET /config', (api) => api.Subject.config({ path: '/config' }));
    const body = this.expectOk<{ compatibilityLevel?: unknown }>(response, 'reading the global level');
    return { level: this.level(body.compatibilityLevel), source: 'global' };
  }

  async setCompatibility(subject: string, level: CompatibilityLevel): Promise<void> {
    const response = await this.http.call(`PUT /config/${subject}`, (api) =>
      api.Subject.updateConfig({ subject, body: { compatibility: level } }),
    );
    this.expectOk(response, `setting the level of ${subject}`, subject);
  }

  async subjects(): Promise<string[]> {
    return this.expectOk<string[]>(
      await this.http.call('GET /subjects', (api) => api.Subject.all()),
      'listing subjects',
    );
  }

  /** The subject's version numbers, oldest first; empty for a subject that does not exist. */
  async versions(subject: string): Promise<number[]> {
    // No resource of the library lists a subject's versions: its `all` with mappersmith's `path` parameter.
    const response = await this.http.call(`GET /subjects/${subject}/versions`, (api) =>
      api.Subject.all({ path: '/subjects/{subject}/versions', subject }),
    );
    if (response.status === 404 && response.errorCode === ERROR.subjectNotFound) return [];
    return this.expectOk<number[]>(response, `listing the versions of ${subject}`, subject);
  }

  async subjectVersion(subject: string, version: number | 'latest'): Promise<SubjectVersion> {
    const response = await this.http.call(`GET /subjects/${subject}/versions/${version}`, (api) =>
      api.Subject.version({ subject, version }),
    );
    return this.expectOk<SubjectVersion>(response, `reading version ${version} of ${subject}`, subject);
  }

  /** Every subject with its versions, their ids and its compatibility level. */
  async listSubjects(): Promise<SubjectListing[]> {
    const listing: SubjectListing[] = [];
    for (const subject of (await this.subjects()).sort()) {
      const versions: SubjectListing['versions'] = [];
      for (const version of await this.versions(subject)) {
        versions.push({ version, id: (await this.subjectVersion(subject, version)).id });
      }
      listing.push({ subject, versions, compatibility: await this.getCompatibility(subject) });
    }
    return listing;
  }

  private async localCompatibility(
    subject: string,
    schema: avro.Schema,
    level: CompatibilityLevel,
    references: readonly LocalReference[],
    why: string,
  ): Promise<CompatibilityResult> {
    const local = await this.localReasons(subject, schema, level, references);
    return {
      compatible: local.length === 0,
      reasons: local,
      compared: (await this.versions(subject)).length > 0,
      level,
      registryNote: `${why}; checked locally`,
    };
  }

  private async localReasons(
    subject: string,
    schema: avro.Schema,
    level: CompatibilityLevel,
    references: readonly LocalReference[],
  ): Promise<string[]> {
    if (level === 'NONE') return [];
    const versions = await this.versions(subject);
    if (versions.length === 0) return [];
    const latest = await this.subjectVersion(subject, versions.at(-1)!);
    const what = `${subject} version ${latest.version}`;
    return incompatibilityReasons(
      level,
      parseSchema(inlineLocal(schema, references), `candidate for ${subject}`),
      parseSchema(await this.withReferences(latest, what), what),
    );
  }

  private level(value: unknown): CompatibilityLevel {
    if (isCompatibilityLevel(value)) return value;
    throw new PipelineError(
      'REGISTRY_REJECTED',
      `schema registry ${this.http.displayUrl} answered an unknown compatibility level ${JSON.stringify(value)}`,
    );
  }

  private registryMessage(response: RegistryResponse): string {
    const message = (response.body as { message?: unknown } | undefined)?.message;
    return typeof message === 'string' ? message : `HTTP ${response.status}`;
  }

  /** The body of a 2xx answer; any other answer becomes the error its status and error_code say. */
  private expectOk<T>(response: RegistryResponse, what: string, subject?: string): T {
    if (response.status >= 200 && response.status < 300) return response.body as T;
    const details = {
      status: response.status,
      errorCode: response.errorCode,
      ...(subject ? { subject } : {}),
    };
    const said = this.registryMessage(response);
    if (response.status === 409 || response.errorCode === ERROR.incompatible) {
      return this.fail('SCHEMA_INCOMPATIBLE', `${what}: incompatible schema (${said})`, details);
    }
    if (response.errorCode === ERROR.invalidSchema) {
      return this.fail(
        'SCHEMA_INVALID',
        `${what}: the registry says the schema is invalid (${said})`,
        details,
      );
    }
    return this.fail(
      'REGISTRY_REJECTED',
      `${what}: schema registry ${this.http.displayUrl} answered ${said}`,
      details,
    );
  }

  private fail(
    code: 'SCHEMA_INCOMPATIBLE' | 'SCHEMA_INVALID' | 'REGISTRY_REJECTED',
    message: string,
    details: Record<string, unknown>,
  ): never {
    throw new PipelineError(code, message, { details });
  }
}
