/** Text lines of a byte stream, with their 1-based physical line numbers. */
import type { Readable } from 'node:stream';
import { InputError } from '../contracts/errors.js';
import { FILE_LIMITS } from '../contracts/limits.js';
import { describeBytes } from './source.js';

/** One physical line, without its line terminator (`\n` or `\r\n`). */
export interface Line {
  /** 1-based line number. */
  line: number;
  text: string;
}

/**
 * The stream's lines, decoded as UTF-8 (a leading byte-order mark is dropped). A final line without a terminator is
 * yielded too. A line longer than `maxBytes` (default FILE_LIMITS.lineBytes) is an {@link InputError} naming
 * `source` and the line, raised as soon as the line passes the limit. Each byte is scanned once, however long the
 * line. Breaking out of the loop destroys the stream.
 */
export async function* linesOf(stream: Readable, source: string, maxBytes: number = FILE_LIMITS.lineBytes): AsyncGenerator<Line> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let line = 0;
  const take = (last: Buffer): string => {
    const bytes = pending.length === 0 ? last : Buffer.concat([...pending, last]);
    pending = [];
    pendingBytes = 0;
    let text = bytes.toString('utf8');
    if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    return text.endsWith('\r') ? text.slice(0, -1) : text;
  };
  const tooLong = () => new InputError(`line longer than ${describeBytes(maxBytes)}, the limit for one line`, { source, line: line + 1 });
  try {
    for await (const data of stream as AsyncIterable<Buffer | string>) {
      const chunk = typeof data === 'string' ? Buffer.from(data) : data;
      let start = 0;
      for (let end = chunk.indexOf(0x0a); end !== -1; end = chunk.indexOf(0x0a, start)) {
        if (pendingBytes + end - start > maxBytes) throw tooLong();
        line++;
        yield { line, text: take(chunk.subarray(start, end)) };
        start = end + 1;
      }
      if (start < chunk.length) {
        pendingBytes += chunk.length - start;
        if (pendingBytes > maxBytes) throw tooLong();
        pending.push(Buffer.from(chunk.subarray(start)));
      }
    }
    if (pendingBytes > 0) {
      line++;
      yield { line, text: take(Buffer.alloc(0)) };
    }
  } finally {
    stream.destroy();
  }
}
