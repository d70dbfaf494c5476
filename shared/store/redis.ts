/**
 * Redis connections, made one way everywhere: `createRedis(url)` for stores and the CLI, `createRedis(url, { bullmq:
 * true })` for BullMQ queues and workers, `createRedis(url, { cluster: true })` for a Redis Cluster (REDIS_CLUSTER),
 * `closeRedis` to end any of them.
 *
 * Cluster notes: every key latentflow writes carries a hash tag (keys.ts), so each multi-key command, MULTI and Lua
 * script touches one slot; pipelines that span entities are avoided in the stores (ioredis Cluster refuses a
 * pipeline whose keys live on different nodes); SCAN goes to every master ({@link scanKeys}).
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

/** A standalone connection or a Redis Cluster client: the same command API (stores accept either). */
export type RedisClient = Redis | Cluster;

export interface RedisConnectionOptions {
  /**
   * A connection for BullMQ (Queue, Worker, FlowProducer, QueueEvents): `maxRetriesPerRequest: null`, which BullMQ
   * requires so that blocking commands wait through reconnections. Default false: a command fails after ioredis's
   * default number of reconnection attempts (20).
   */
  bullmq?: boolean;
  /**
   * Client name shown by `CLIENT LIST` (e.g. `lf:trainer`), set as ioredis `connectionName` (ioredis's own `name`
   * option is a Sentinel master name). Default: none.
   */
  name?: string;
  /**
   * Receives the connection's error lines: already redacted, the first error at once, then at most one line per
   * interval (5 s, doubling while errors go on, up to 60 s) with the number of errors not shown. Default: a
   * `<ISO time> warn [redis] <name>: <message>` line on stderr.
   */
  log?: (message: string) => void;
}

/** {@link RedisConnectionOptions} and the kind of server. */
export interface CreateRedisOptions extends RedisConnectionOptions {
  /**
   * The URL names one node (any) of a Redis Cluster: an ioredis `Cluster` is returned, seeded with the URL's host and
   * port; it discovers the other nodes itself (CLUSTER SLOTS). User, password and TLS (`rediss://`) of the URL apply to
   * every node; a database number other than 0 is refused (a cluster has only database 0). Default false.
   */
  cluster?: boolean;
}

/**
 * A connected ioredis client for a `redis://` or `rediss://` URL (`rediss://user:password@host:6380/0`: user,
 * password and database number are read from the URL; `rediss` turns on TLS with Node's default verification).
 * Connects at once (`lazyConnect: false`) and waits for the server to finish loading before running commands
 * (`enableReadyCheck`; on a cluster, until CLUSTER INFO reports `cluster_state:ok`).
 */
export function createRedis(url: string, options: RedisConnectionOptions & { cluster: true }): Cluster;
export function createRedis(url: string, options?: RedisConnectionOptions & { cluster?: false }): Redis;
export function createRedis(url: string, options?: CreateRedisOptions): RedisClient;
export function createRedis(url: string, options: CreateRedisOptions = {}): RedisClient {
  for (const secret of urlSecrets(url)) knownSecrets.add(secret);
  const reporter = errorReporter(options.name ?? 'connection', options.log ?? writeWarning);
  return reportErrors(connectTo(url, options), reporter);
}

function connectTo(url: string, options: CreateRedisOptions): RedisClient {
  const tls = /^rediss:\/\//i.test(url);
  const redisOptions: RedisOptions = {
    enableReadyCheck: true,
    lazyConnect: false,
    ...(options.bullmq ? { maxRetriesPerRequest: null } : {}),
    ...(options.name !== undefined ? { connectionName: options.name } : {}),
    ...(tls ? { tls: {} } : {}),
  };
  if (options.cluster !== true) return new Redis(url, redisOptions);
  const u = new URL(url);
  return new Cluster([seedOf(u)], clusterOptions(u, redisOptions, tls));
}

function seedOf(u: URL): { host: string; port: number } {
  return { host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: u.port === '' ? 6379 : Number(u.port) };
}

function clusterOptions(u: URL, redisOptions: RedisOptions, tls: boolean): ClusterOptions {
  const db = u.pathname.replace(/^\//, '');
  if (db !== '' && db !== '0') throw new Error(`a Redis Cluster has only database 0, and the URL names database ${db}`);
  const username = decodeURIComponent(u.username);
  const password = decodeURIComponent(u.password);
  return {
    enableReadyCheck: true,
    lazyConnect: false,
    // Never give up reconnecting (as a standalone connection does); BullMQ needs commands to wait, not fail.
    clusterRetryStrategy: (times) => Math.min(100 + times * 200, 2000),
    // With TLS the certificate names the host: keep the hostnames the cluster announces unresolved.
    ...(tls ? { dnsLookup: (address: string, callback: (error: Error | null, address: string) => void) => callback(null, address) } : {}),
    redisOptions: {
      ...redisOptions,
      ...(username !== '' ? { username } : {}),
      ...(password !== '' ? { password } : {}),
    },
  };
}

/**
 * A new connection like `r` (same nodes and options), named `name` when given. Its errors are reported with `r`'s
 * (one throttle for a connection and all its duplicates).
 */
export function duplicateRedis(r: RedisClient, name?: string): RedisClient {
  if (isCluster(r)) {
    return r.duplicate([], name === undefined ? {} : { redisOptions: { ...r.options.redisOptions, connectionName: name } });
  }
  return r.duplicate(name === undefined ? {} : { connectionName: name });
}

/** True for a Redis Cluster client. */
export function isCluster(r: RedisClient): r is Cluster {
  return r instanceof Cluster;
}

/**
 * Every key matching `pattern` (SCAN MATCH … COUNT 1000): on a cluster, on every master node, since each holds its
 * own slots.
 */
export async function scanKeys(r: RedisClient, pattern: string): Promise<string[]> {
  const found = new Set<string>();
  for (const node of isCluster(r) ? r.nodes('master') : [r]) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      for (const key of keys) found.add(key);
      cursor = next;
    } while (cursor !== '0');
  }
  return [...found];
}

/**
 * Ends a connection: QUIT when it is ready (pending replies are delivered first), else (connecting, reconnecting,
 * or QUIT failing or taking over 2 s) a plain disconnect. Resolves once the connection has ended; idempotent.
 */
export async function closeRedis(r: RedisClient): Promise<void> {
  const isEnded = () => (r.status as string) === 'end';
  if (isEnded()) return;
  const ended = new Promise<void>((resolve) => r.once('end', () => resolve()));
  if (r.status === 'ready' && (await within(r.quit().then(() => true, () => false), 2000)) === true) {
    await within(ended, 2000);
    if (isEnded()) return;
  }
  const waitingToReconnect = r.status === 'reconnecting';
  r.disconnect();
  if (waitingToReconnect) forceEnd(r);
  if (!isEnded()) await within(ended, 2000);
}

/**
 * ioredis does not end a connection disconnected while it waits to reconnect: no socket is left to emit `close`, so
 * the status stays `reconnecting` and queued commands never settle (redis/ioredis#1247, fix pending in #2169).
 * This does what ioredis's close handler does for a manual close.
 */
function forceEnd(r: RedisClient): void {
  const internal = r as unknown as { flushQueue?: (error: Error) => void; setStatus?: (status: string) => void };
  if ((r.status as string) === 'end' || typeof internal.flushQueue !== 'function' || typeof internal.setStatus !== 'function') return;
  internal.setStatus('end');
  internal.flushQueue(new Error('Connection is closed.'));
}

/** `promise`'s value, or undefined after `ms` (the timer never keeps the process alive). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Secrets of the URLs this process connected to: {@link redact} always removes them. */
const knownSecrets = new Set<string>();

/**
 * The secrets a Redis URL carries: its password and `password` query parameter (ioredis reads both), decoded and as
 * written. None for a URL that does not parse.
 */
export function urlSecrets(url: string): string[] {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return [];
  }
  const written = [...u.search.matchAll(/[?&]password=([^&#]*)/gi)].map((m) => m[1]);
  const found = [u.password, ...written].flatMap((s) => [s, safeDecode(s)]).concat(u.searchParams.getAll('password'));
  return [...new Set(found.filter((s) => s !== ''))];
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const REDACTIONS: [RegExp, string][] = [
  // scheme://user:password@host
  [/\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@/]*@/gi, '$1***@'],
  // ?password=… in a URL or query string
  [/([?&]password=)[^&#\s'"]*/gi, '$1***'],
  // an inspected command: { name: 'auth' | 'hello', args: [ … ] }
  [/(name: ['"](?:auth|hello)['"], args: \[)[^\]]*\]/gi, '$1 *** ]'],
  // 'AUTH', 'user', 'password' in an inspected argument list
  [/(['"]AUTH['"])(?:,\s*(?:'[^']*'|"[^"]*"|`[^`]*`)){1,2}/gi, "$1, '***'"],
  // AUTH user password as a command line
  [/\bAUTH((?:[ \t]+(?!<)[^\s,'"\]]+){1,2})/g, 'AUTH ***'],
];

/**
 * `text` without secrets: each of `secrets` and of the Redis URLs this process connected to (as written and
 * URL-encoded), URL passwords, `password=` query parameters and the arguments of AUTH (and HELLO … AUTH).
 */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of new Set([...secrets, ...knownSecrets])) {
    if (secret === '') continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) out = out.split(form).join('***');
  }
  for (const [pattern, replacement] of REDACTIONS) out = out.replace(pattern, replacement);
  return out;
}

const FIRST_INTERVAL_MS = 5_000;
const MAX_INTERVAL_MS = 60_000;

export interface ErrorReporter {
  error(error: Error): void;
  ready(): void;
}

/**
 * Redacted error lines for `log`: the first error at once, then one line per interval (5 s, doubling while errors go
 * on, up to 60 s) counting those not shown; `ready()` ends a failing spell (and says so).
 */
export function errorReporter(name: string, log: (message: string) => void): ErrorReporter {
  let interval = FIRST_INTERVAL_MS;
  let quietUntil = 0;
  let unshown = 0;
  let failing = false;
  const more = () => (unshown > 0 ? ` (${unshown} more error(s) not shown)` : '');
  return {
    error(error) {
      const now = Date.now();
      if (now < quietUntil) {
        unshown++;
        return;
      }
      log(`${name}: ${redact(error.message)}${more()}`);
      if (failing) interval = Math.min(interval * 2, MAX_INTERVAL_MS);
      quietUntil = now + interval;
      unshown = 0;
      failing = true;
    },
    ready() {
      if (failing) log(`${name}: connected${more()}`);
      interval = FIRST_INTERVAL_MS;
      quietUntil = 0;
      unshown = 0;
      failing = false;
    },
  };
}

function scrubCommand(error: Error): void {
  const command = (error as { command?: { name?: unknown; args?: unknown } }).command;
  if (command !== undefined && typeof command.name === 'string' && /^(auth|hello)$/i.test(command.name)) command.args = ['***'];
}

function writeWarning(message: string): void {
  process.stderr.write(`${new Date().toISOString()} warn [redis] ${message}\n`);
}

/**
 * Reports `r`'s errors (and, through its `duplicate`, those of every connection made from it, BullMQ's too). This
 * listener comes first, so it also takes the password out of the error before any later listener sees it: ioredis
 * attaches the failed command, and a failed AUTH or HELLO carries it (BullMQ prints errors nobody listens to).
 */
function reportErrors<T extends RedisClient>(r: T, reporter: ErrorReporter): T {
  r.on('error', (error: Error) => {
    scrubCommand(error);
    reporter.error(error);
  });
  r.on('ready', () => reporter.ready());
  const duplicate = r.duplicate.bind(r) as (...args: unknown[]) => RedisClient;
  (r as { duplicate: unknown }).duplicate = (...args: unknown[]) => reportErrors(duplicate(...args), reporter);
  return r;
}
