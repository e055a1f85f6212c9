/**
 * Apache Kafka's message schemas (shared/kafka/schemas/*.json, copied from apache/kafka; see
 * the LICENSE and NOTICE there): loading, comment stripping, version ranges, and the field
 * list a given version puts on the wire. The codec (codec.ts) compiles these into closures.
 */
import * as fs from 'fs';
import * as path from 'path';

export interface VersionRange {
  min: number;
  /** Infinity for "N+". */
  max: number;
}

export interface SchemaField {
  name: string;
  /** lowerCamelCase, the key in decoded objects. */
  key: string;
  type: string;
  versions: VersionRange | null;
  nullableVersions: VersionRange | null;
  taggedVersions: VersionRange | null;
  tag: number | null;
  default: string | null;
  /** The schema's description of the field (for generated type comments). */
  about: string | null;
  fields: SchemaField[] | null;
}

export interface MessageSchema {
  apiKey: number;
  type: 'request' | 'response' | 'header';
  name: string;
  validVersions: VersionRange;
  flexibleVersions: VersionRange | null;
  fields: SchemaField[];
  commonStructs: Map<string, SchemaField[]>;
}

export function parseVersions(text: string | undefined): VersionRange | null {
  if (text === undefined || text === 'none') return null;
  if (text.endsWith('+')) return { min: Number(text.slice(0, -1)), max: Number.POSITIVE_INFINITY };
  const dash = text.indexOf('-');
  if (dash >= 0) return { min: Number(text.slice(0, dash)), max: Number(text.slice(dash + 1)) };
  const single = Number(text);
  return { min: single, max: single };
}

export function inRange(range: VersionRange | null, version: number): boolean {
  return range !== null && version >= range.min && version <= range.max;
}

/** Removes // comments outside string literals (the schema files are JSON with comments). */
export function stripComments(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else out += c;
  }
  return out;
}

interface RawField {
  name: string;
  type: string;
  versions?: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  default?: string | number | boolean;
  about?: string;
  fields?: RawField[];
}

function lowerCamel(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

function convertFields(raw: RawField[] | undefined): SchemaField[] {
  return (raw ?? []).map((field) => ({
    name: field.name,
    key: lowerCamel(field.name),
    type: field.type,
    versions: parseVersions(field.versions),
    nullableVersions: parseVersions(field.nullableVersions),
    taggedVersions: parseVersions(field.taggedVersions),
    tag: field.tag ?? null,
    default: field.default === undefined ? null : String(field.default),
    about: field.about ?? null,
    fields: field.fields === undefined ? null : convertFields(field.fields),
  }));
}

/** The directory holding the schema files, from the sources or from dist/. */
export function schemaDir(): string {
  for (let dir = __dirname, i = 0; i < 6; i++, dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'shared', 'kafka', 'schemas');
    if (fs.existsSync(candidate)) return candidate;
    const beside = path.join(dir, 'schemas');
    if (fs.existsSync(path.join(beside, 'ApiVersionsRequest.json'))) return beside;
  }
  throw new Error(`Kafka schemas not found near ${__dirname}`);
}

const cache = new Map<string, MessageSchema>();

/** Loads `<name>.json`, e.g. 'ProduceRequest'. */
export function loadSchema(name: string): MessageSchema {
  const cached = cache.get(name);
  if (cached !== undefined) return cached;
  const raw = JSON.parse(stripComments(fs.readFileSync(path.join(schemaDir(), `${name}.json`), 'utf8'))) as {
    apiKey: number;
    type: 'request' | 'response';
    name: string;
    validVersions: string;
    flexibleVersions: string;
    fields: RawField[];
    commonStructs?: Array<{ name: string; fields: RawField[] }>;
  };
  const schema: MessageSchema = {
    apiKey: raw.apiKey,
    type: raw.type,
    name: raw.name,
    validVersions: parseVersions(raw.validVersions)!,
    flexibleVersions: parseVersions(raw.flexibleVersions),
    fields: convertFields(raw.fields),
    commonStructs: new Map((raw.commonStructs ?? []).map((struct) => [struct.name, convertFields(struct.fields)])),
  };
  cache.set(name, schema);
  return schema;
}
