/**
 * A strict reader of the Prometheus text exposition format (0.0.4), for tests, `samsa top` and the console: every line is a
 * HELP, a TYPE, or a sample of a declared family with well-formed labels and a number; anything
 * else throws. Hand-written: prom-client writes the format but has no parser.
 */
export interface Exposition {
  types: Map<string, string>;
  samples: Array<{ name: string; labels: Record<string, string>; value: number }>;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: -?\\d+)?$`);
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y;
const TYPES = new Set(['counter', 'gauge', 'summary', 'histogram', 'untyped']);

function family(name: string, types: Map<string, string>): string | undefined {
  if (types.has(name)) return name;
  for (const suffix of ['_sum', '_count', '_bucket']) {
    const base = name.endsWith(suffix) ? name.slice(0, -suffix.length) : null;
    if (base !== null && (types.get(base) === 'summary' || types.get(base) === 'histogram')) return base;
  }
  return undefined;
}

export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Exposition['samples'] = [];
  for (const [index, line] of text.split('\n').entries()) {
    if (line === '') continue;
    const where = `line ${index + 1}: ${line}`;
    if (line.startsWith('# HELP ')) {
      if (!new RegExp(`^# HELP ${NAME} `).test(line)) throw new Error(`bad HELP, ${where}`);
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      if (name === undefined || type === undefined || !TYPES.has(type) || types.has(name)) throw new Error(`bad TYPE, ${where}`);
      types.set(name, type);
      continue;
    }
    if (line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (match === null) throw new Error(`bad sample, ${where}`);
    const [, name, labelText, valueText] = match;
    if (family(name!, types) === undefined) throw new Error(`sample of an undeclared family, ${where}`);
    const labels: Record<string, string> = {};
    if (labelText !== undefined && labelText !== '') {
      LABEL.lastIndex = 0;
      while (LABEL.lastIndex < labelText.length) {
        const label = LABEL.exec(labelText);
        if (label === null) throw new Error(`bad labels, ${where}`);
        labels[label[1]!] = label[2]!.replace(/\\(.)/g, (_all, char: string) => (char === 'n' ? '\n' : char));
      }
    }
    const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText);
    // prom-client writes "Nan" before the first event-loop sample; Prometheus (Go's ParseFloat) takes NaN in any case.
    if (Number.isNaN(value) && valueText!.toLowerCase() !== 'nan') throw new Error(`bad value, ${where}`);
    samples.push({ name: name!, labels, value });
  }
  return { types, samples };
}

/** The value of the sample with exactly these labels, or undefined. */
export function sample(exposition: Exposition, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels);
  const found = exposition.samples.find((entry) => entry.name === name && Object.keys(entry.labels).length === wanted.length && wanted.every(([key, value]) => entry.labels[key] === value));
  return found?.value;
}

/** The sum of the samples of `name` whose labels include these (any other labels). */
export function sumOf(exposition: Exposition, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels);
  return exposition.samples.filter((entry) => entry.name === name && wanted.every(([key, value]) => entry.labels[key] === value)).reduce((sum, entry) => sum + entry.value, 0);
}
