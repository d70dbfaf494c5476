/** Text lines of a byte stream, with their 1-based physical line numbers. */
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

/** One physical line, without its line terminator (`\n` or `\r\n`). */
export interface Line {
  /** 1-based line number. */
  line: number;
  text: string;
}

/**
 * The stream's lines, decoded as UTF-8 (a leading byte-order mark is dropped). A final line without a terminator is
 * yielded too. Breaking out of the loop destroys the stream.
 */
export async function* linesOf(stream: Readable): AsyncGenerator<Line> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let line = 0;
  let atStart = true;
  try {
    for await (const chunk of stream) {
      pending += decoder.write(chunk as Buffer);
      if (atStart && pending.length > 0) {
        atStart = false;
        if (pending.charCodeAt(0) === 0xfeff) pending = pending.slice(1);
      }
      let start = 0;
      let end: number;
      while ((end = pending.indexOf('\n', start)) !== -1) {
        line++;
        yield { line, text: stripCr(pending.slice(start, end)) };
        start = end + 1;
      }
      pending = pending.slice(start);
    }
    pending += decoder.end();
    if (pending.length > 0) yield { line: line + 1, text: stripCr(pending) };
  } finally {
    stream.destroy();
  }
}

function stripCr(text: string): string {
  return text.endsWith('\r') ? text.slice(0, -1) : text;
}
