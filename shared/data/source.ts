/**
 * Opening dataset files: plain or gzip-compressed (by a `.gz` suffix or the gzip magic bytes 1f 8b), as a stream.
 * A missing or unreadable file is an {@link InputError} naming the path; so is gzip data that decompresses to more
 * than FILE_LIMITS.decompressedBytes (refused as soon as the stream gets there, not after decompressing it all).
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline, Transform, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { InputError } from '../contracts/errors.js';
import { FILE_LIMITS } from '../contracts/limits.js';

function isGzipMagic(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

function openFailure(path: string, err: unknown): InputError {
  const code = (err as NodeJS.ErrnoException).code;
  const problem = code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory, not a file' : `cannot read file (${code ?? String(err)})`;
  return new InputError(problem, { source: path }, { cause: err });
}

/** A size for messages: `16 MiB`, `4 GiB`, `512 bytes`. */
export function describeBytes(n: number): string {
  for (const [unit, size] of [['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) {
    if (n >= size && n % size === 0) return `${n / size} ${unit}`;
  }
  return `${n.toLocaleString('en-US')} bytes`;
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
 * The file's bytes as a stream, decompressed when gzip; the decompressed stream fails with an {@link InputError}
 * once it passes `maxBytes` (default FILE_LIMITS.decompressedBytes). Other stream errors (corrupt gzip data, an
 * unreadable file) surface as ordinary stream errors; callers turn them into messages with {@link streamFailure}.
 */
export async function openByteStream(path: string, maxBytes: number = FILE_LIMITS.decompressedBytes): Promise<Readable> {
  const gz = await isGzipFile(path);
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  if (!gz) return file;
  let total = 0;
  const cap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      total += chunk.length;
      if (total <= maxBytes) return done(null, chunk);
      done(new InputError(`gzip data decompresses to more than ${describeBytes(maxBytes)}, the limit for one file`, { source: path }));
    },
  });
  return pipeline(file, createGunzip(), cap, () => {});
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
