// Alerts written by any Redis client, malformed or hostile, on a real redis-server: the dashboard's alerts page and
// live feed (over HTTP), AlertStore readers and `latentflow alerts tail` (text and --json) all keep working, see
// well-typed alerts, and never pass a control character to a terminal.
import assert from 'node:assert/strict';
import type { ReadableStreamReadResult } from 'node:stream/web';
import { describe, test } from 'node:test';
import { keyspace, type Keyspace } from '../../shared/contracts/keys.js';
import { AlertStore } from '../../shared/store/alerts.js';
import { runCli } from '../helpers/cli.js';
import { startDashboard } from '../helpers/dashboard.js';
import { useRedis } from '../helpers/redis.js';

const fixture = useRedis();

const ESC = '\u001b';
/** A record id that would retitle the terminal and clear the screen, and C1 CSI + DEL elsewhere. */
const HOSTILE_RECORD = `${ESC}]0;pwned\u0007${ESC}[2J`;
const HOSTILE_SOURCE = 'line\u009b31m-2';
const HOSTILE_MODEL = 'm\u007f';
/** Every C0 control (tab and newline included), DEL and every C1 control: none may reach a terminal raw. */
// eslint-disable-next-line no-control-regex -- the test looks for control characters
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Entries as careless or hostile clients XADD them (field/value lists), and the features a reader should see. */
const ENTRIES: { fields: string[]; features: { feature: string; error: number }[] }[] = [
  { fields: ['source', 's', 'record', 'null-feature', 'score', '2', 'threshold', '1', 'features', '[null]'], features: [] },
  { fields: ['source', 's', 'record', 'object-features', 'score', '2', 'threshold', '1', 'features', '{"a":1}'], features: [] },
  { fields: ['source', 's', 'record', 'text-features', 'score', '2', 'threshold', '1', 'features', 'not json'], features: [] },
  { fields: ['source', 's', 'record', 'no-numbers', 'score', 'abc', 'threshold', 'NaN', 'version', 'x'], features: [] },
  { fields: ['source', 's', 'record', 'infinite', 'score', 'Infinity', 'threshold', '-inf', 'version', '-3'], features: [] },
  {
    fields: ['source', 's', 'record', 'mixed', 'score', '3', 'threshold', '1', 'features',
      '[{"feature":"ok","error":1.5},{"feature":{"x":1},"error":2},{"feature":"s","error":"NaN"},5,"str",{"feature":"n","error":null},[1,2]]'],
    features: [{ feature: 'ok', error: 1.5 }],
  },
  { fields: ['__proto__', 'x', 'constructor', 'y', 'toString', 'z'], features: [] },
  {
    fields: ['source', HOSTILE_SOURCE, 'record', HOSTILE_RECORD, 'score', '9', 'threshold', '1', 'model', HOSTILE_MODEL, 'version', '1',
      'severity', `high${ESC}[5m`, 'at', `2026-01-01${ESC}[31m`, 'kind', 'drift', 'features', JSON.stringify([{ feature: `${ESC}[31mred\n`, error: 1 }])],
    features: [{ feature: `${ESC}[31mred\n`, error: 1 }],
  },
];

async function writeEntries(keys: Keyspace): Promise<string[]> {
  const ids: string[] = [];
  for (const { fields } of ENTRIES) ids.push((await fixture.redis().xadd(keys.alerts(), '*', ...fields))!);
  return ids;
}

describe('alerts written by any client', () => {
  test('the dashboard\'s alerts page answers 200 and shows every entry, its well-formed features only', async (t) => {
    const keys = keyspace(fixture.prefix());
    const ids = await writeEntries(keys);
    const { base } = await startDashboard(t, fixture, { keys });
    const response = await fetch(`${base}/alerts`);
    const page = await response.text();
    assert.equal(response.status, 200, page.slice(0, 500));
    for (const id of ids) assert.ok(page.includes(`data-id="${id}"`), id);
    assert.match(page, /<td>ok<\/td>/, 'the one good feature of the mixed entry is listed');
    assert.match(page, /<tr data-id="[^"]+"><td>[^<]*<\/td><td>s<\/td><td>no-numbers<\/td><td>anomaly<\/td><td class="sev-[a-z]+">[a-z]+<\/td><td class="num">-<\/td><td class="num">-<\/td><td class="num">-<\/td><td>@0<\/td>/,
      'a score, threshold and version that are not numbers show as - and 0');
  });

  test('the live feed sends every entry as JSON with well-typed features; AlertStore reads typed alerts', async (t) => {
    const keys = keyspace(fixture.prefix());
    const ids = await writeEntries(keys);
    const { base } = await startDashboard(t, fixture, { keys });
    const controller = new AbortController();
    t.after(() => controller.abort());
    const response = await fetch(`${base}/alerts/events?after=0-0`, { signal: controller.signal });
    assert.equal(response.status, 200);
    const reader = response.body!.getReader();
    let text = '';
    while (!text.includes(`id: ${ids.at(-1)}\n`) || !text.endsWith('\n\n')) {
      const chunk = (await reader.read()) as ReadableStreamReadResult<Uint8Array>;
      if (chunk.done) assert.fail(`the feed ended early:\n${text}`);
      text += Buffer.from(chunk.value).toString();
    }
    const events = [...text.matchAll(/^id: (.+)\nevent: alert\ndata: (.+)$/gm)].map((m) => ({ id: m[1], data: JSON.parse(m[2]) as Record<string, unknown> }));
    assert.deepEqual(events.map((e) => e.id), ids);
    events.forEach((e, i) => {
      assert.deepEqual(e.data.features, ENTRIES[i].features, e.id);
      assert.ok(typeof e.data.version === 'number' && Number.isInteger(e.data.version), `version of ${e.id}`);
      assert.ok(e.data.score === null || typeof e.data.score === 'number');
    });

    const read = await new AlertStore(fixture.redis(), keys).read();
    assert.deepEqual(read.map((e) => e.alert.features), ENTRIES.map((e) => e.features));
    const byRecord = new Map(read.map((e) => [e.alert.record, e.alert]));
    assert.deepEqual([byRecord.get('no-numbers')?.score, byRecord.get('no-numbers')?.threshold, byRecord.get('no-numbers')?.version], [NaN, NaN, 0]);
    assert.deepEqual([byRecord.get('infinite')?.score, byRecord.get('infinite')?.version], [Infinity, 0]);
    assert.equal(byRecord.get(HOSTILE_RECORD)?.severity, 'high', 'a severity that is not one of the four is derived from the score');
    assert.deepEqual(await new AlertStore(fixture.redis(), keys).get(ids[0]), read[0]);
    assert.equal(await new AlertStore(fixture.redis(), keys).get('1-0'), undefined);
  });

  test('`alerts tail` prints every entry with control characters escaped; --json keeps them, escaped, in valid JSON', async () => {
    const keys = keyspace(fixture.prefix());
    await writeEntries(keys);
    const env = { REDIS_URL: fixture.url(), LATENTFLOW_PREFIX: keys.prefix };

    const text = await runCli(['alerts', 'tail', '--count', '50'], env);
    assert.equal(text.code, 0, text.stderr);
    const lines = text.stdout.trimEnd().split('\n');
    assert.equal(lines.length, ENTRIES.length, text.stdout);
    for (const line of lines) assert.doesNotMatch(line, CONTROL, JSON.stringify(line));
    const hostile = lines.at(-1)!;
    assert.ok(hostile.includes('record \\x1b]0;pwned\\x07\\x1b[2J'), hostile);
    assert.ok(hostile.includes('line\\x9b31m-2/m\\x7f@1'), hostile);
    assert.ok(hostile.includes('\\x1b[31mred\\x0a:1'), hostile);
    assert.match(lines[3], /record no-numbers {2}error - \/ -/);

    const json = await runCli(['alerts', 'tail', '--count', '50', '--json'], env);
    assert.equal(json.code, 0, json.stderr);
    const rows = json.stdout.trimEnd().split('\n');
    assert.equal(rows.length, ENTRIES.length);
    for (const row of rows) assert.doesNotMatch(row, CONTROL, row);
    const last = JSON.parse(rows.at(-1)!) as { record: string; source: string; model: string; features: unknown };
    assert.deepEqual([last.record, last.source, last.model, last.features], [HOSTILE_RECORD, HOSTILE_SOURCE, HOSTILE_MODEL, ENTRIES.at(-1)!.features]);
  });
});
