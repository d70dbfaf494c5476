// infra/ checked without a Docker engine: the compose file against the Compose Specification schema (the copy dclint
// ships) and dclint's rules, the Dockerfile through dockerfile-ast, redis.conf and the health check on a real
// redis-server, and the variables of .env.example, docker-compose.yml and shared/config.ts against one another.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Ajv } from 'ajv';
import * as dclint from 'dclint';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { parse as parseYaml } from 'yaml';
import { checkDashboardAccess, loadConfig } from '../../shared/config.js';
import { projectPath } from '../helpers/cli.js';

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const read = (relative: string) => readFileSync(projectPath(relative), 'utf8');
const packageJson = JSON.parse(read('package.json')) as { scripts: Record<string, string>; optionalDependencies: Record<string, string> };

/** Variables docker-compose.yml reads that latentflow itself does not. */
const COMPOSE_ONLY = ['ENCODER_REPLICAS', 'LATENTFLOW_IMAGE_TAG', 'DASHBOARD_PORT'];
const WORKERS = ['trainer', 'encoder', 'downstream'] as const;

type Json = Record<string, unknown>;
interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  entrypoint?: string[];
  depends_on?: Record<string, { condition: string }>;
  environment?: Record<string, string>;
  volumes?: string[];
  restart?: string;
  stop_grace_period?: string;
  deploy?: { replicas?: unknown };
  profiles?: string[];
  ports?: string[];
  healthcheck?: { test: string[] };
}
interface Compose {
  name: string;
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
}

const composeText = read('infra/docker-compose.yml');
const compose = parseYaml(composeText, { merge: true }) as Compose;

/**
 * Compose's variable substitution (the subset this file uses): `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
 * `${VAR:?error}`, `${VAR?error}`, defaults that nest further substitutions, and `$$` for a literal `$`.
 */
function interpolate(text: string, env: Record<string, string>): string {
  let out = '';
  for (let i = 0; i < text.length;) {
    if (text.startsWith('$$', i)) {
      out += '$';
      i += 2;
    } else if (text.startsWith('${', i)) {
      let depth = 1;
      let j = i + 2;
      for (; j < text.length && depth > 0; j++) {
        if (text.startsWith('${', j)) {
          depth++;
          j++;
        } else if (text[j] === '}') depth--;
      }
      const body = text.slice(i + 2, j - 1);
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([\s\S]*))?$/.exec(body);
      if (!m) throw new Error(`bad substitution \${${body}}`);
      const [, name, colon, op, rest] = m;
      const value = env[name];
      const missing = value === undefined || (colon === ':' && value === '');
      if (op === '-') out += missing ? interpolate(rest, env) : value;
      else if (op === '?') {
        if (missing) throw new Error(`required variable ${name} is missing: ${rest}`);
        out += value;
      } else out += value ?? '';
      i = j;
    } else {
      out += text[i];
      i++;
    }
  }
  return out;
}

function interpolateAll(value: unknown, env: Record<string, string>): unknown {
  if (typeof value === 'string') return interpolate(value, env);
  if (Array.isArray(value)) return value.map((v) => interpolateAll(v, env));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateAll(v, env)]));
  return value;
}

/** The variables of shared/config.ts: the keys of its zod schema and the rows of its header table. */
function configVariables(): { schema: string[]; table: string[] } {
  const source = read('shared/config.ts');
  const body = /const EnvSchema = z\.object\(\{([\s\S]*?)\n\}\);/.exec(source)?.[1];
  assert.ok(body, 'EnvSchema not found in shared/config.ts');
  const schema = [...body.matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1]);
  const table = [...source.matchAll(/^ \* \| ([A-Z][A-Z0-9_]*) \|/gm)].map((m) => m[1]);
  return { schema, table };
}

/** `NAME=value` lines of .env.example (comments skipped). */
function envExample(): Map<string, string> {
  const entries = read('infra/.env.example').split('\n').filter((l) => /^[A-Z]/.test(l)).map((l) => {
    const eq = l.indexOf('=');
    return [l.slice(0, eq), l.slice(eq + 1)] as [string, string];
  });
  return new Map(entries);
}

function seconds(duration: string): number {
  let total = 0;
  for (const [, n, unit] of duration.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us)/g)) {
    total += Number(n) * ({ h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6 } as Record<string, number>)[unit];
  }
  return total;
}

describe('docker-compose.yml', () => {
  const schemaFile = path.join(path.dirname(require.resolve('dclint/package.json')), 'schemas/compose.schema.json');
  const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true });
  // Its `$schema` is draft-07 spelt with https, which Ajv does not know by that name; Ajv's default is draft-07.
  const { $schema: _draft, ...schema } = JSON.parse(readFileSync(schemaFile, 'utf8')) as Json;
  assert.match(String(_draft), /draft-07/);
  const validate = ajv.compile(schema);
  const env = { REDIS_PASSWORD: 'secret-pw' };

  test('is valid against the Compose Specification schema, as written and after variable substitution', () => {
    assert.ok(validate(compose), ajv.errorsText(validate.errors, { separator: '\n' }));
    const resolved = interpolateAll(compose, env);
    assert.ok(validate(resolved), ajv.errorsText(validate.errors, { separator: '\n' }));
  });

  test('the validator has teeth: a misspelt key or condition fails it', () => {
    const broken = structuredClone(compose) as unknown as { services: Record<string, Json> };
    broken.services.encoder.depends_on = { redis: { condition: 'service_ready' } };
    assert.equal(validate(broken), false);
    const misspelt = structuredClone(compose) as unknown as { services: Record<string, Json> };
    misspelt.services.redis.healthcheck_ = {};
    assert.equal(validate(misspelt), false);
  });

  test('passes every dclint rule with no error or warning', () => {
    // dclint's .d.ts files import without extensions, which NodeNext does not resolve: its API is restated here.
    type LintResult = { messages: { line: number; rule: string; message: string }[] };
    const untyped: unknown = dclint;
    const { DCLinter } = untyped as { DCLinter: new (config: object) => { lintFiles(paths: string[], recursive: boolean): LintResult[] } };
    // No rule configured: every rule at its default level.
    const linter = new DCLinter({ rules: {}, quiet: true, debug: false, exclude: [] });
    const [result] = linter.lintFiles([projectPath('infra/docker-compose.yml')], false);
    assert.deepEqual(result.messages.map((m) => `${m.line}: ${m.rule}: ${m.message}`), []);
  });

  test('workers: one image and build, service_healthy on redis, restart policy, stop grace periods, scalable encoder', () => {
    const builds = new Set<string>();
    for (const name of WORKERS) {
      const s = compose.services[name];
      assert.ok(s, `service ${name}`);
      assert.deepEqual(s.build, { context: '..', dockerfile: 'infra/Dockerfile' }, name);
      builds.add(`${s.image}`);
      assert.deepEqual(s.depends_on, { redis: { condition: 'service_healthy' } }, name);
      assert.equal(s.restart, 'unless-stopped', name);
      assert.ok(seconds(s.stop_grace_period ?? '0s') >= (name === 'trainer' ? 120 : 30), `${name} stop_grace_period ${s.stop_grace_period}`);
      assert.equal(s.profiles, undefined, `${name} starts by default`);
    }
    assert.equal(builds.size, 1, 'the three workers share one image');
    assert.equal(compose.services.encoder.deploy?.replicas, '${ENCODER_REPLICAS:-1}');
    const scaled = interpolateAll(compose, { ...env, ENCODER_REPLICAS: '3' }) as Compose;
    assert.equal(scaled.services.encoder.deploy?.replicas, '3');
    assert.equal((interpolateAll(compose, env) as Compose).services.encoder.deploy?.replicas, '1');
    for (const [name, s] of Object.entries(compose.services)) {
      if (name !== 'redis') assert.equal(s.depends_on?.redis?.condition, 'service_healthy', name);
    }
  });

  test('dashboard: opt-in profile, the workers\' image and settings, every interface in its container (so a token is required), published on the host\'s loopback only', () => {
    const d = compose.services.dashboard;
    assert.deepEqual(d.profiles, ['dashboard']);
    assert.equal(d.image, compose.services.encoder.image);
    const environment = interpolateAll(d.environment ?? {}, env) as Record<string, string>;
    const workers = interpolateAll(compose.services.encoder.environment ?? {}, env) as Record<string, string>;
    assert.deepEqual({ ...environment, LATENTFLOW_DASHBOARD_HOST: '127.0.0.1', LATENTFLOW_DASHBOARD_PORT: '8080' }, workers);
    assert.equal(environment.LATENTFLOW_DASHBOARD_HOST, '0.0.0.0');
    const config = loadConfig({ ...environment, REDIS_URL: 'redis://redis:6379' });
    assert.throws(() => checkDashboardAccess(config.dashboard), /LATENTFLOW_DASHBOARD_TOKEN is required/);
    assert.doesNotThrow(() => checkDashboardAccess(loadConfig({ ...environment, LATENTFLOW_DASHBOARD_TOKEN: 'x'.repeat(16) }).dashboard));
    assert.deepEqual(interpolateAll(d.ports ?? [], env), ['127.0.0.1:8080:8080']);
    assert.match((d.healthcheck?.test ?? []).join(' '), /127\.0\.0\.1:8080\/readyz/);
  });

  test('the workers reach the compose Redis with REDIS_PASSWORD (required), unless REDIS_URL is given', () => {
    const environment = compose.services.encoder.environment ?? {};
    const resolved = interpolateAll(environment, env) as Record<string, string>;
    assert.equal(loadConfig(resolved).redisUrl, 'redis://:secret-pw@redis:6379');
    const external = 'rediss://lf:pw@redis.example.com:6380';
    assert.equal(loadConfig(interpolateAll(environment, { ...env, REDIS_URL: external }) as Record<string, string>).redisUrl, external);
    assert.throws(() => interpolateAll(environment, {}), /REDIS_PASSWORD/);
    assert.throws(() => interpolateAll(compose.services.redis, {}), /REDIS_PASSWORD/);
    // What podman-compose (1.0.3, Debian 12) reads: no `${A:-${B}}`, and no empty default `${A:-}` (both are passed on
    // half-substituted or literally, and a literal `${…}` is an invalid value for the services).
    assert.doesNotMatch(composeText, /\$\{[^}]*\$\{/);
    assert.doesNotMatch(composeText, /\$\{[A-Za-z_][A-Za-z0-9_]*:?[-?]\}/);
  });

  test('redis: 7.x on Debian, redis.conf read-only, named volume, password from the environment, health check with it', () => {
    const redis = compose.services.redis;
    assert.match(redis.image ?? '', /^redis:7\.\d+(\.\d+)?-bookworm$/);
    assert.ok(redis.volumes?.includes('./redis.conf:/usr/local/etc/redis/redis.conf:ro'));
    const data = redis.volumes?.find((v) => v.endsWith(':/data'));
    assert.ok(data && data.split(':')[0] in compose.volumes, 'a named volume at /data');
    assert.equal(redis.environment?.REDIS_PASSWORD, '${REDIS_PASSWORD:?set REDIS_PASSWORD in infra/.env}');
    const command = (redis.command ?? []).join(' ');
    assert.match(command, /redis-server \/usr\/local\/etc\/redis\/redis\.conf --requirepass "\$\$\{REDIS_PASSWORD\}"/);
    assert.match(redis.healthcheck?.test.join(' ') ?? '', /^CMD-SHELL .*\$\$\{REDIS_PASSWORD\}.*redis-cli ping/);
    assert.equal(redis.restart, 'unless-stopped');
  });

  test('every worker command runs an entry point of the build output (tsc -p tsconfig.build.json, as in the image)', async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'lf-build-'));
    try {
      assert.equal(packageJson.scripts.build, 'tsc -p tsconfig.build.json');
      await run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', out], { cwd: projectPath('.') });
      for (const name of WORKERS) {
        const command = compose.services[name].command ?? [];
        assert.deepEqual(command, ['node', `dist/services/${name}/main.js`]);
        // The image's WORKDIR is /app and its dist/ is the build stage's outDir: dist/x ↔ <out>/x.
        assert.ok(existsSync(path.join(out, command[1].replace(/^dist\//, ''))), `${command[1]} is not in the build output`);
      }
      assert.deepEqual(compose.services.dashboard.command, ['node', 'dist/services/dashboard/main.js']);
      assert.ok(existsSync(path.join(out, 'services/dashboard/main.js')));
      const cli = compose.services.cli;
      assert.deepEqual(cli.entrypoint, ['node', 'dist/cli/main.js']);
      assert.ok(existsSync(path.join(out, 'cli/main.js')));
      assert.deepEqual(cli.profiles, ['cli']);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('variables', () => {
  const { schema, table } = configVariables();
  const example = envExample();

  test('shared/config.ts: the schema and the header table list the same variables', () => {
    assert.ok(schema.length >= 20, `found only ${schema.length} variables`);
    assert.deepEqual([...table].sort(), [...schema].sort());
  });

  test('.env.example lists every variable of shared/config.ts and the compose-only ones, nothing else', () => {
    assert.deepEqual([...example.keys()].sort(), [...schema, ...COMPOSE_ONLY].sort());
  });

  test('.env.example values are the defaults of shared/config.ts', () => {
    const values = Object.fromEntries([...example].filter(([k]) => schema.includes(k)));
    assert.deepEqual(loadConfig(values), loadConfig({}));
  });

  test('the workers get every variable of shared/config.ts, with its default', () => {
    const environment = compose.services.encoder.environment ?? {};
    assert.deepEqual(Object.keys(environment).sort(), [...schema].sort());
    const resolved = interpolateAll(environment, { REDIS_PASSWORD: 'pw' }) as Record<string, string>;
    assert.equal(loadConfig(resolved).redisUrl, 'redis://:pw@redis:6379');
    delete resolved.REDIS_URL;
    delete resolved.REDIS_PASSWORD;
    assert.deepEqual(loadConfig(resolved), loadConfig({}));
  });

  test('every variable docker-compose.yml substitutes is in .env.example', () => {
    const used = new Set([...composeText.replaceAll('$$', '').matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]));
    for (const name of used) assert.ok(example.has(name), `${name} is used by docker-compose.yml but missing from .env.example`);
    for (const name of COMPOSE_ONLY) assert.ok(used.has(name), `${name} is in .env.example but docker-compose.yml does not use it`);
  });
});

describe('Dockerfile', () => {
  const dockerfile = DockerfileParser.parse(read('infra/Dockerfile'));
  const froms = dockerfile.getFROMs();
  const args = (i: Instruction) => i.getExpandedArguments().map((a) => a.getValue());
  const stage = (index: number) => {
    const start = froms[index].getRange().start.line;
    const end = index + 1 < froms.length ? froms[index + 1].getRange().start.line : Infinity;
    return dockerfile.getInstructions().filter((i) => i.getRange().start.line > start && i.getRange().start.line < end);
  };

  test('every stage is FROM a Debian-based Node 20 image (glibc: Debian\'s OpenBLAS)', () => {
    assert.ok(froms.length >= 2, 'multi-stage');
    for (const from of froms) assert.match(args(from)[0], /^node:20(\.\d+)*-(bookworm|bullseye|trixie)(-slim)?$/);
  });

  test('build stage: a compiler and OpenBLAS from Debian, all dependencies without install scripts, `npm run build`, the native addon against the image\'s own Node headers', () => {
    const runs = stage(0).filter((i) => i.getKeyword() === 'RUN').map((i) => args(i).join(' '));
    assert.ok(runs.some((r) => /apt-get install .*\bg\+\+.*\blibopenblas-dev\b/.test(r)), runs.join('\n'));
    assert.ok(runs.some((r) => /^npm ci --ignore-scripts\b/.test(r)), runs.join('\n'));
    assert.ok(runs.some((r) => r === 'npm run build'), runs.join('\n'));
    assert.ok(runs.some((r) => /npm_config_nodedir=.* npm run build:native$/.test(r)), 'node-gyp would otherwise download the headers');
  });

  test('final stage: production dependencies only, no libtensorflow download, the native addon that must load, dist from the build stage, non-root, no service by default', () => {
    const last = stage(froms.length - 1);
    const runs = last.filter((i) => i.getKeyword() === 'RUN').map((i) => args(i).join(' '));
    const install = runs.find((r) => r.includes('npm ci'));
    assert.ok(install, 'npm ci in the final stage');
    assert.match(install, /npm ci --omit=dev --ignore-scripts/);
    assert.ok(!runs.some((r) => /tfjs-node/.test(r)), 'tfjs-node downloads libtensorflow: the image must build offline');
    assert.ok(packageJson.optionalDependencies['@tensorflow/tfjs-node']);
    assert.ok(runs.some((r) => /apt-get install .*\blibopenblas0\b/.test(r)), 'libopenblas.so.0 for the addon');
    assert.ok(runs.some((r) => /loadNativeBlas\(\)/.test(r) && /process\.exit\(1\)/.test(r)), 'the image build fails when the addon does not load');
    const workdir = last.filter((i) => i.getKeyword() === 'WORKDIR').map((i) => args(i)[0]).at(-1);
    assert.equal(workdir, '/app', 'compose commands are relative to /app');
    const copies = dockerfile.getCOPYs().filter((c) => last.includes(c));
    const dist = copies.find((c) => c.getFlags().some((f) => f.getName() === 'from' && f.getValue() === froms[0].getBuildStage()));
    assert.ok(dist, 'COPY --from=<build stage>');
    assert.deepEqual(args(dist), ['/app/dist', './dist']);
    const addon = copies.find((c) => args(c)[0].endsWith('latentflow_blas.node'));
    assert.deepEqual(addon && args(addon), ['/app/native/blas/build/Release/latentflow_blas.node', './native/blas/build/Release/']);
    assert.ok(last.some((i) => i.getKeyword() === 'ENV' && args(i).includes('NODE_ENV=production')));
    // `latentflow` on PATH: a link to the package's bin script (npm ci links none for the package itself in the image).
    const bin = (JSON.parse(read('package.json')) as { bin: Record<string, string> }).bin.latentflow;
    assert.ok(runs.some((r) => r.includes(`ln -s /app/${bin} /usr/local/bin/latentflow`)), `a link to /app/${bin} on PATH`);
    assert.ok(copies.some((c) => args(c)[0] === path.dirname(bin)), `COPY ${path.dirname(bin)}`);
    const user = last.filter((i) => i.getKeyword() === 'USER').map((i) => args(i)[0]).at(-1);
    assert.ok(user && !['root', '0'].includes(user.split(':')[0]), `USER ${user}`);
    for (const cmd of last.filter((i) => ['CMD', 'ENTRYPOINT'].includes(i.getKeyword()))) {
      assert.doesNotMatch(cmd.getArgumentsContent() ?? '', /services\//, 'no default service');
    }
  });

  test('COPY sources exist and are not excluded by .dockerignore; the context leaves out node_modules, dist, .git', () => {
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
    for (const needed of ['**/node_modules', 'dist', '.git', 'test', 'bench']) assert.ok(ignored.includes(needed), needed);
    for (const copy of dockerfile.getCOPYs().filter((c) => c.getFlags().length === 0)) {
      for (const source of args(copy).slice(0, -1)) {
        assert.ok(existsSync(projectPath(source)), `COPY ${source}: not in the project`);
        assert.ok(!ignored.includes(source.split('/')[0]), `COPY ${source}: excluded by .dockerignore`);
      }
    }
  });
});

describe('redis.conf on a real redis-server', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lf-redis-conf-'));
  const children: ChildProcess[] = [];
  after(() => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const cli = async (port: number, password: string | undefined, ...command: string[]) =>
    (await run('redis-cli', ['-p', String(port), ...command], { env: { ...process.env, REDISCLI_AUTH: password ?? '' } })).stdout.trim();

  test('is accepted with the compose command line; AOF everysec, noeviction, snapshots, auth required; the health check passes', async () => {
    const conf = read('infra/redis.conf');
    assert.match(conf, /^dir \/data$/m);
    for (const line of ['appendonly yes', 'appendfsync everysec', 'maxmemory-policy noeviction', 'protected-mode yes']) {
      assert.match(conf, new RegExp(`^${line}$`, 'm'));
    }
    const file = path.join(dir, 'redis.conf');
    writeFileSync(file, conf.replace(/^dir \/data$/m, `dir ${dir}`));
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const server = spawn('redis-server', [file, '--port', String(port), '--bind', '127.0.0.1', '--requirepass', 'secret-pw'], { stdio: 'ignore' });
    children.push(server);
    let ready = false;
    for (let i = 0; i < 100 && !ready; i++) {
      ready = await cli(port, 'secret-pw', 'ping').then((r) => r === 'PONG', () => false);
      if (!ready) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(ready, 'redis-server started with infra/redis.conf');
    assert.match(await cli(port, undefined, 'ping'), /NOAUTH/);
    const get = async (name: string) => (await cli(port, 'secret-pw', 'config', 'get', name)).split('\n')[1];
    assert.equal(await get('appendonly'), 'yes');
    assert.equal(await get('appendfsync'), 'everysec');
    assert.equal(await get('maxmemory-policy'), 'noeviction');
    assert.equal(await get('save'), '3600 1 300 100 60 10000');

    // The compose health check as the container's shell runs it (`$$` unescaped), with redis-cli aimed at this port.
    const check = compose.services.redis.healthcheck?.test ?? [];
    assert.equal(check[0], 'CMD-SHELL');
    const bin = path.join(dir, 'bin');
    mkdirSync(bin);
    const real = (await run('sh', ['-c', 'command -v redis-cli'])).stdout.trim();
    writeFileSync(path.join(bin, 'redis-cli'), `#!/bin/sh\nexec ${real} -p ${port} "$@"\n`, { mode: 0o755 });
    const health = (password: string) => new Promise<number | null>((resolve) => {
      const env = { ...process.env, REDIS_PASSWORD: password, PATH: `${bin}:${process.env.PATH ?? ''}` };
      spawn('sh', ['-c', interpolate(check[1], {})], { env, stdio: 'ignore' }).once('exit', resolve);
    });
    assert.equal(await health('secret-pw'), 0);
    assert.notEqual(await health('wrong'), 0);
    await cli(port, 'secret-pw', 'shutdown', 'nosave').catch(() => '');
  });
});
