/**
 * A strict reader of the Prometheus text exposition format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/):
 * names, labels and escapes, floats as Prometheus reads them, one TYPE per family before its samples, contiguous
 * families, `_total` counters, cumulative histogram buckets ending in +Inf = _count. Throws naming the line.
 */
import assert from 'node:assert/strict';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  types: Map<string, string>;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
// Values are read as Go's strconv.ParseFloat reads them (Prometheus's parser does): NaN and Inf in any case, which
// matters because prom-client writes NaN as "Nan".
const FLOAT = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?inf(?:inity)?|nan)$/i;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseFloatStrict(text: string, where: string): number {
  if (!FLOAT.test(text)) throw new Error(`${where}: "${text}" is not a Prometheus float`);
  if (/^nan$/i.test(text)) return NaN;
  return /inf/i.test(text) ? (text.startsWith('-') ? -Infinity : Infinity) : Number(text);
}

/** Labels `{a="x",b="y"}` starting at text[0] === '{'; returns them and the rest of the line after `}`. */
function parseLabels(text: string, where: string): [Record<string, string>, string] {
  const labels: Record<string, string> = {};
  let i = 1;
  for (;;) {
    if (text[i] === '}') return [labels, text.slice(i + 1)];
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new Error(`${where}: label without "="`);
    const name = text.slice(i, eq);
    if (!LABEL_NAME.test(name) || name.startsWith('__')) throw new Error(`${where}: bad label name "${name}"`);
    if (name in labels) throw new Error(`${where}: label "${name}" twice`);
    if (text[eq + 1] !== '"') throw new Error(`${where}: label value of "${name}" is not quoted`);
    let value = '';
    let j = eq + 2;
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === '\\') {
        const next = text[++j];
        if (next === 'n') value += '\n';
        else if (next === '\\' || next === '"') value += next;
        else throw new Error(`${where}: bad escape "\\${next}" in label "${name}"`);
      } else value += text[j];
    }
    if (j >= text.length) throw new Error(`${where}: unterminated label value of "${name}"`);
    labels[name] = value;
    i = j + 1;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') throw new Error(`${where}: expected "," or "}" after label "${name}"`);
  }
}

/** The family a sample name belongs to, given the declared types (histogram/summary samples carry suffixes). */
function familyOf(name: string, types: Map<string, string>): string | undefined {
  if (types.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    const base = name.slice(0, -suffix.length);
    if (name.endsWith(suffix) && (types.get(base) === 'histogram' || (suffix !== '_bucket' && types.get(base) === 'summary'))) return base;
  }
  return undefined;
}

/** Parses `text` strictly; throws naming the line on anything the format does not allow or that is inconsistent. */
export function parseExposition(text: string): Exposition {
  assert.ok(text.endsWith('\n'), 'the exposition ends with a newline');
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples: Sample[] = [];
  const series = new Set<string>();
  const finished = new Set<string>();
  let current: string | undefined;
  const enter = (family: string, where: string) => {
    if (current === family) return;
    if (finished.has(family)) throw new Error(`${where}: family ${family} is not contiguous`);
    if (current !== undefined) finished.add(current);
    current = family;
  };
  text.slice(0, -1).split('\n').forEach((line, n) => {
    const where = `line ${n + 1} ("${line}")`;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) return; // a plain comment
      const [, kind, name, rest] = m;
      if (!METRIC_NAME.test(name)) throw new Error(`${where}: bad metric name`);
      if (kind === 'HELP') {
        if (helps.has(name)) throw new Error(`${where}: second HELP`);
        if (/\\[^\\n]/.test(rest.replace(/\\\\/g, ''))) throw new Error(`${where}: bad escape in HELP`);
        helps.add(name);
      } else {
        if (!TYPES.has(rest)) throw new Error(`${where}: unknown type "${rest}"`);
        if (types.has(name)) throw new Error(`${where}: second TYPE`);
        if (samples.some((s) => familyOf(s.name, new Map([[name, rest]])) === name)) throw new Error(`${where}: TYPE after samples`);
        types.set(name, rest);
      }
      enter(name, where);
      return;
    }
    const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
    if (!nameMatch) throw new Error(`${where}: no metric name`);
    const name = nameMatch[0];
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) [labels, rest] = parseLabels(rest, where);
    const parts = rest.split(' ');
    if (parts[0] !== '' || parts.length < 2 || parts.length > 3) throw new Error(`${where}: expected " <value> [timestamp]"`);
    const value = parseFloatStrict(parts[1], where);
    if (parts.length === 3 && !/^-?\d+$/.test(parts[2])) throw new Error(`${where}: bad timestamp`);
    const family = familyOf(name, types);
    if (family === undefined) throw new Error(`${where}: sample without a TYPE`);
    enter(family, where);
    const type = types.get(family)!;
    if (name.endsWith('_bucket') && type === 'histogram' && labels.le === undefined) throw new Error(`${where}: bucket without le`);
    if (type === 'counter' && (!(value >= 0) || !name.endsWith('_total'))) throw new Error(`${where}: a counter is named *_total and not negative`);
    const id = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (series.has(id)) throw new Error(`${where}: duplicate series`);
    series.add(id);
    samples.push({ name, labels, value });
  });
  checkHistograms(samples, types);
  return { samples, types };
}

/** Buckets grow with le, and the +Inf bucket equals _count, for every histogram series. */
function checkHistograms(samples: Sample[], types: Map<string, string>): void {
  for (const [family, type] of types) {
    if (type !== 'histogram') continue;
    const groups = new Map<string, Sample[]>();
    for (const s of samples.filter((x) => x.name === `${family}_bucket`)) {
      const key = JSON.stringify(Object.entries(s.labels).filter(([k]) => k !== 'le').sort());
      groups.set(key, [...(groups.get(key) ?? []), s]);
    }
    for (const [key, buckets] of groups) {
      const sorted = buckets.map((b) => [parseFloatStrict(b.labels.le, family), b.value] as const).sort((a, b) => a[0] - b[0]);
      sorted.forEach(([, v], i) => assert.ok(i === 0 || v >= sorted[i - 1][1], `${family}${key}: buckets are cumulative`));
      assert.equal(sorted.at(-1)![0], Infinity, `${family}${key} has a +Inf bucket`);
      const count = samples.find((s) => s.name === `${family}_count` && JSON.stringify(Object.entries(s.labels).sort()) === key);
      assert.equal(count?.value, sorted.at(-1)![1], `${family}${key}: +Inf bucket = _count`);
    }
  }
}


/** The value of the sample `name` with exactly `labels`, or undefined. */
export function value(e: Exposition, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort());
  return e.samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want)?.value;
}
