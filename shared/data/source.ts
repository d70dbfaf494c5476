/**
 * Opening dataset files: plain or gzip-compressed (by a `.gz` suffix or the gzip magic bytes 1f 8b), as a stream
 * or whole. A missing or unreadable file is an {@link InputError} naming the path.
 */
import { createReadStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip, gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { InputError } from '../contracts/errors.js';

const gunzipAsync = promisify(gunzip);

function isGzipMagic(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

function openFailure(path: string, err: unknown): InputError {
  const code = (err as NodeJS.ErrnoException).code;
  const problem = code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory, not a file' : `cannot read file (${code ?? String(err)})`;
  return new InputError(problem, { source: path }, { cause: err });
}

/** Whether a file is gzip-compressed: its name ends in `.gz` or it starts with the gzip magic bytes. */
export async function isGzipFile(path: string): Promise<boolean> {
  if (path.toLowerCase().endsWith('.gz')) return true;
  let handle;
  try {
    handle = await open(path, 'r');
    const head = new Uint8Array(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return isGzipMagic(head.subarray(0, bytesRead));
  } catch (err) {
    throw openFailure(path, err);
  } finally {
    await handle?.close();
  }
}

/**
 * The file's bytes as a stream, decompressed when gzip. Stream errors (including corrupt gzip data) surface as
 * ordinary stream errors; callers turn them into messages with {@link streamFailure}.
 */
export async function openByteStream(path: string): Promise<Readable> {
  const gz = await isGzipFile(path);
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  if (!gz) return file;
  const gunzipStream = createGunzip();
  file.on('error', (err) => gunzipStream.destroy(err));
  gunzipStream.on('close', () => file.destroy());
  return file.pipe(gunzipStream);
}

/** The whole file's bytes, decompressed when gzip. */
export async function readBytes(path: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw openFailure(path, err);
  }
  if (!path.toLowerCase().endsWith('.gz') && !isGzipMagic(bytes)) return bytes;
  try {
    return await gunzipAsync(bytes);
  } catch (err) {
    throw new InputError(`corrupt gzip data (${(err as Error).message})`, { source: path }, { cause: err });
  }
}

/**
 * An error raised while streaming `path`, as an {@link InputError} when it is about the file's content (corrupt
 * gzip, unreadable file); any other error is returned unchanged.
 */
export function streamFailure(path: string, err: unknown): unknown {
  if (err instanceof InputError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
  if (code.startsWith('Z_')) return new InputError(`corrupt gzip data (${(err as Error).message})`, { source: path }, { cause: err });
  if (code.startsWith('E') && typeof err === 'object' && err !== null && 'syscall' in err) return openFailure(path, err);
  return err;
}
