/**
 * Schema references (Confluent API): a named type defined under its own subject and used by name in other
 * schemas. The registry keeps the referring schema as written, with `references: [{name, subject, version}]`
 * beside it; a reader needs the referenced definitions to parse it. This project inlines them: the first use
 * of a referenced name is replaced by its definition, so the result is one standalone Avro schema that
 * every other step (parsing with the project's logical types, the compatibility rules, codegen) reads as
 * any other.
 */

/** A reference as the registry stores it beside a schema. */
export interface RegistryReference {
  /** Full name of the referenced type, e.g. `shop.Money`. */
  name: string;
  subject: string;
  version: number;
}

/** A reference as the catalog knows it: the definition itself, not yet a registry version. */
export interface LocalReference {
  name: string;
  subject: string;
  /** The referenced schema as written in its file (may itself be inlined already). */
  schema: unknown;
}

const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);
const NAMED = new Set(['record', 'error', 'enum', 'fixed']);

function qualify(name: string, namespace: string | undefined): string {
  return name.includes('.') || !namespace ? name : `${namespace}.${name}`;
}

function namespaceOf(fullName: string): string | undefined {
  const dot = fullName.lastIndexOf('.');
  return dot < 0 ? undefined : fullName.slice(0, dot);
}

/**
 * The schema with the first use of each referenced name replaced by its definition (its name made full,
 * so the enclosing namespace does not change it), and the names that were used. A definition may itself
 * use other definitions of the map (nested references).
 */
export function inlineReferences(
  schema: unknown,
  definitions: ReadonlyMap<string, unknown>,
): { schema: unknown; used: string[] } {
  const defined = new Set<string>();
  const used: string[] = [];
  const visit = (node: unknown, namespace: string | undefined): unknown => {
    if (typeof node === 'string') {
      if (PRIMITIVES.has(node)) return node;
      const name = qualify(node, namespace);
      const definition = definitions.get(name);
      if (definition === undefined || defined.has(name)) return node;
      used.push(name);
      if (definition === null || typeof definition !== 'object' || Array.isArray(definition)) return node;
      // A full name overrides any namespace; a name without one must not take the enclosing one.
      const { namespace: _ignored, ...rest } = definition as Record<string, unknown>;
      return visit({ ...rest, name, ...(name.includes('.') ? {} : { namespace: '' }) }, undefined);
    }
    if (Array.isArray(node)) return node.map((branch) => visit(branch, namespace));
    if (node === null || typeof node !== 'object') return node;
    const copy = { ...(node as Record<string, unknown>) };
    let inner = namespace;
    if (typeof copy.type === 'string' && NAMED.has(copy.type) && typeof copy.name === 'string') {
      const own = typeof copy.namespace === 'string' ? copy.namespace || undefined : namespace;
      const full = qualify(copy.name, own);
      defined.add(full);
      inner = namespaceOf(full);
    }
    if (Array.isArray(copy.fields)) {
      copy.fields = copy.fields.map((field: unknown) =>
        field !== null && typeof field === 'object'
          ? { ...(field as object), type: visit((field as { type?: unknown }).type, inner) }
          : field,
      );
    }
    if (copy.items !== undefined) copy.items = visit(copy.items, inner);
    if (copy.values !== undefined) copy.values = visit(copy.values, inner);
    if (typeof copy.type === 'object' || (typeof copy.type === 'string' && !NAMED.has(copy.type))) {
      if (copy.type !== 'array' && copy.type !== 'map') copy.type = visit(copy.type, inner);
    }
    return copy;
  };
  return { schema: visit(schema, undefined), used };
}

/** The full name a named schema defines (`shop.Money`), or undefined when it is not a named type. */
export function definedName(schema: unknown): string | undefined {
  const node = schema as { type?: unknown; name?: unknown; namespace?: unknown } | null;
  if (node === null || typeof node !== 'object' || typeof node.name !== 'string') return undefined;
  if (typeof node.type !== 'string' || !NAMED.has(node.type)) return undefined;
  return qualify(node.name, typeof node.namespace === 'string' ? node.namespace : undefined);
}
