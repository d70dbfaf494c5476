/**
 * IDX files, the format of MNIST and Fashion-MNIST: bytes 00 00, a type byte, the number of dimensions, then each
 * dimension as a big-endian uint32, then the values (big-endian, row-major). Gzip allowed.
 */
import { InputError } from '../contracts/errors.js';
import { readBytes } from './source.js';
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
 * Reads an IDX file (gzip when named `*.gz` or starting with the gzip magic bytes). A bad magic number, an unknown
 * type, or a size that does not match the dimensions (truncated or trailing data) is an {@link InputError} naming
 * the file and the numbers.
 */
export async function readIdx(path: string): Promise<Idx> {
  return decodeIdx(await readBytes(path), path);
}

/** Decodes IDX bytes; `source` names them in errors. */
export function decodeIdx(bytes: Uint8Array, source: string): Idx {
  if (bytes.length < 4) throw new InputError(`too short for an IDX header (${bytes.length} bytes)`, { source });
  const type = TYPES[bytes[2]];
  if (bytes[0] !== 0 || bytes[1] !== 0 || type === undefined || bytes[3] === 0) {
    throw new InputError(`bad IDX magic number ${hex(bytes.subarray(0, 4))} (expected 00 00, a type among 08 09 0b 0c 0d 0e, a dimension count ≥ 1)`, { source });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ndims = bytes[3];
  const header = 4 + 4 * ndims;
  if (bytes.length < header) throw new InputError(`truncated IDX header: ${ndims} dimensions need ${header} bytes, file has ${bytes.length}`, { source });
  const dims = Array.from({ length: ndims }, (_, i) => view.getUint32(4 + 4 * i));
  const count = dims.reduce((a, b) => a * b, 1);
  const expected = header + count * type.size;
  if (bytes.length !== expected) {
    const what = bytes.length < expected ? 'truncated IDX data' : 'trailing bytes after IDX data';
    throw new InputError(`${what}: dimensions ${dims.join('×')} of ${type.name} need ${expected} bytes, file has ${bytes.length}`, { source });
  }
  const data = new type.array(count);
  if (type.size === 1) data.set(bytes.subarray(header));
  else for (let i = 0; i < count; i++) data[i] = type.get(view, header + i * type.size);
  return { dims, data };
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
    if (!Number.isFinite(v)) {
      throw new InputError('not a finite number', { source: imagesPath, row: Math.floor(i / width), column: `px${i % width}`, value: images.data[i] });
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
