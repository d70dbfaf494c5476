/**
 * IDX files, the format of MNIST and Fashion-MNIST: bytes 00 00, a type byte, the number of dimensions, then each
 * dimension as a big-endian uint32, then the values (big-endian, row-major). Gzip allowed.
 */
import { InputError } from '../contracts/errors.js';
import { FILE_LIMITS } from '../contracts/limits.js';
import { fitsFloat32 } from './number.js';
import { openByteStream, streamFailure } from './source.js';
import type { Table } from './table.js';

/** The typed array an IDX file's type byte calls for. */
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

/** A decoded IDX file: its dimensions (outermost first) and its values, row-major. */
export interface Idx {
  dims: number[];
  data: IdxData;
}

interface IdxType {
  name: string;
  size: number;
  array: new (n: number) => IdxData;
  get: (view: DataView, offset: number) => number;
  set: (view: DataView, offset: number, value: number) => void;
}

/** IDX type byte → element type. */
const TYPES: Record<number, IdxType> = {
  0x08: { name: 'unsigned byte', size: 1, array: Uint8Array, get: (v, o) => v.getUint8(o), set: (v, o, x) => v.setUint8(o, x) },
  0x09: { name: 'signed byte', size: 1, array: Int8Array, get: (v, o) => v.getInt8(o), set: (v, o, x) => v.setInt8(o, x) },
  0x0b: { name: 'short', size: 2, array: Int16Array, get: (v, o) => v.getInt16(o), set: (v, o, x) => v.setInt16(o, x) },
  0x0c: { name: 'int', size: 4, array: Int32Array, get: (v, o) => v.getInt32(o), set: (v, o, x) => v.setInt32(o, x) },
  0x0d: { name: 'float', size: 4, array: Float32Array, get: (v, o) => v.getFloat32(o), set: (v, o, x) => v.setFloat32(o, x) },
  0x0e: { name: 'double', size: 8, array: Float64Array, get: (v, o) => v.getFloat64(o), set: (v, o, x) => v.setFloat64(o, x) },
};

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');

/**
 * Reads an IDX file (gzip when named `*.gz` or starting with the gzip magic bytes), streaming: the header is checked
 * before any data is read, then exactly the bytes the dimensions call for are read. A bad magic number, an unknown
 * type, dimensions beyond FILE_LIMITS (values per table, features per row), or a size that does not match the
 * dimensions (truncated or trailing data) is an {@link InputError} naming the file and the numbers.
 */
export async function readIdx(path: string): Promise<Idx> {
  const decoder = new IdxDecoder(path);
  const stream = await openByteStream(path);
  try {
    for await (const chunk of stream) decoder.push(chunk as Buffer);
  } catch (err) {
    throw streamFailure(path, err);
  } finally {
    stream.destroy();
  }
  return decoder.finish();
}

/** Decodes IDX bytes; `source` names them in errors. */
export function decodeIdx(bytes: Uint8Array, source: string): Idx {
  const decoder = new IdxDecoder(source);
  decoder.push(bytes);
  return decoder.finish();
}

/** Decodes an IDX file from its bytes in any number of pieces, checking the header as soon as it is complete. */
class IdxDecoder {
  /** The magic number and up to 255 dimensions. */
  private readonly head = new Uint8Array(4 + 4 * 255);
  private headBytes = 0;
  private type?: IdxType;
  private dims?: number[];
  private data?: IdxData;
  /** The bytes of `data`, filled with the file's big-endian values and swapped in place by {@link finish}. */
  private raw?: Uint8Array;
  private filled = 0;

  constructor(private readonly source: string) {}

  push(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.raw === undefined) {
        const n = Math.min(this.headSize() - this.headBytes, chunk.length - at);
        this.head.set(chunk.subarray(at, at + n), this.headBytes);
        this.headBytes += n;
        at += n;
        if (this.headBytes === 4) this.checkMagic();
        if (this.headBytes === this.headSize() && this.headBytes > 4) this.start();
      } else {
        const n = Math.min(this.raw.length - this.filled, chunk.length - at);
        if (n === 0) throw this.sizeError('trailing bytes after IDX data', 'more');
        this.raw.set(chunk.subarray(at, at + n), this.filled);
        this.filled += n;
        at += n;
      }
    }
  }

  finish(): Idx {
    const { source } = this;
    if (this.headBytes < 4) throw new InputError(`too short for an IDX header (${this.headBytes} bytes)`, { source });
    if (this.raw === undefined) throw new InputError(`truncated IDX header: ${this.head[3]} dimensions need ${this.headSize()} bytes, file has ${this.headBytes}`, { source });
    if (this.filled < this.raw.length) throw this.sizeError('truncated IDX data', String(this.headBytes + this.filled));
    const type = this.type!;
    const data = this.data!;
    const raw = this.raw;
    if (type.size > 1) {
      // Each value's big-endian bytes become the platform's, in place.
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      for (let i = 0; i < data.length; i++) data[i] = type.get(view, i * type.size);
    }
    return { dims: this.dims!, data };
  }

  /** Bytes of the header: 4 until the dimension count is known. */
  private headSize(): number {
    return this.headBytes < 4 ? 4 : 4 + 4 * this.head[3];
  }

  private checkMagic(): void {
    const h = this.head;
    this.type = TYPES[h[2]];
    if (h[0] !== 0 || h[1] !== 0 || this.type === undefined || h[3] === 0) {
      throw new InputError(`bad IDX magic number ${hex(h.subarray(0, 4))} (expected 00 00, a type among 08 09 0b 0c 0d 0e, a dimension count ≥ 1)`, { source: this.source });
    }
  }

  /** The header is complete: checks the dimensions against the limits and allocates the data. */
  private start(): void {
    const view = new DataView(this.head.buffer);
    const dims = Array.from({ length: this.head[3] }, (_, i) => view.getUint32(4 + 4 * i));
    this.dims = dims;
    const count = dims.reduce((a, b) => a * b, 1);
    const width = dims.slice(1).reduce((a, b) => a * b, 1);
    const at = `dimensions ${dims.join('×')}`;
    if (count > FILE_LIMITS.values) {
      throw new InputError(`${at} make ${count.toLocaleString('en-US')} values, more than the limit of ${FILE_LIMITS.values.toLocaleString('en-US')} values per table`, { source: this.source });
    }
    if (width > FILE_LIMITS.features) {
      throw new InputError(`${at} make rows of ${width.toLocaleString('en-US')} values, more than the limit of ${FILE_LIMITS.features.toLocaleString('en-US')} features`, { source: this.source });
    }
    this.data = new this.type!.array(count);
    this.raw = new Uint8Array(this.data.buffer, this.data.byteOffset, this.data.byteLength);
  }

  private sizeError(what: string, has: string): InputError {
    const expected = this.headBytes + this.raw!.length;
    return new InputError(`${what}: dimensions ${this.dims!.join('×')} of ${this.type!.name} need ${expected} bytes, file has ${has}`, { source: this.source });
  }
}

/** Encodes an IDX file (the inverse of {@link decodeIdx}); `data.length` must equal the product of `dims`. */
export function encodeIdx({ dims, data }: Idx): Uint8Array {
  const [code, type] = Object.entries(TYPES).find(([, t]) => data instanceof t.array)!;
  if (dims.reduce((a, b) => a * b, 1) !== data.length) throw new RangeError(`IDX data has ${data.length} values, dims ${dims.join('×')}`);
  const header = 4 + 4 * dims.length;
  const bytes = new Uint8Array(header + data.length * type.size);
  const view = new DataView(bytes.buffer);
  bytes.set([0, 0, Number(code), dims.length]);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  for (let i = 0; i < data.length; i++) type.set(view, header + i * type.size, data[i]);
  return bytes;
}

export interface IdxTableOptions {
  /** Every value is divided by `scale`. Default: 255 for unsigned-byte data (pixels → [0, 1]), 1 for other types. */
  scale?: number;
}

/**
 * An IDX images file (and optionally its labels file) as a {@link Table}: one row per image, flattened row-major;
 * features `px0`, `px1`…; ids the 0-based image index; labels the label numbers as text. A labels file that is not
 * one-dimensional or whose count differs from the images' is an {@link InputError} naming both files and counts.
 */
export async function readIdxTable(imagesPath: string, labelsPath?: string, options: IdxTableOptions = {}): Promise<Table> {
  const images = await readIdx(imagesPath);
  const rows = images.dims[0];
  const width = images.dims.slice(1).reduce((a, b) => a * b, 1);
  if (rows === 0 || width === 0) throw new InputError(`no data (dimensions ${images.dims.join('×')})`, { source: imagesPath });
  const scale = options.scale ?? (images.data instanceof Uint8Array ? 255 : 1);
  if (!Number.isFinite(scale) || scale <= 0) throw new InputError('scale must be a finite number > 0', { source: imagesPath, field: 'scale', value: scale });
  const values = new Float32Array(images.data.length);
  for (let i = 0; i < values.length; i++) {
    const v = images.data[i] / scale;
    if (!fitsFloat32(v)) {
      const problem = Number.isFinite(v) ? 'beyond the Float32 range' : 'not a finite number';
      throw new InputError(problem, { source: imagesPath, row: Math.floor(i / width), column: `px${i % width}`, value: images.data[i] });
    }
    values[i] = v;
  }
  const table: Table = {
    values,
    rows,
    width,
    features: Array.from({ length: width }, (_, j) => `px${j}`),
    ids: Array.from({ length: rows }, (_, i) => String(i)),
    source: imagesPath,
  };
  if (labelsPath !== undefined) table.labels = await readIdxLabels(labelsPath, imagesPath, rows);
  return table;
}

async function readIdxLabels(labelsPath: string, imagesPath: string, rows: number): Promise<string[]> {
  const labels = await readIdx(labelsPath);
  if (labels.dims.length !== 1) {
    throw new InputError(`a labels file must be one-dimensional; dimensions are ${labels.dims.join('×')}`, { source: labelsPath });
  }
  if (labels.dims[0] !== rows) {
    throw new InputError(`${labels.dims[0]} labels, but ${rows} images in ${imagesPath}`, { source: labelsPath });
  }
  return Array.from(labels.data, (v) => String(v));
}
