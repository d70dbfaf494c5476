/**
 * Our codes and labels written for the Python peers (bench/peer/*.py), so they run on the very same inputs:
 * DIR/train_codes.f32 and DIR/test_codes.f32 (row-major little-endian float32), DIR/train_labels.json and
 * DIR/test_labels.json (string arrays), DIR/meta.json ({"width": W}).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface LabelledCodes { values: Float32Array; labels: string[] }

export async function saveCodes(dir: string, width: number, train: LabelledCodes, test: LabelledCodes): Promise<void> {
  const bytes = (v: Float32Array) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'train_codes.f32'), bytes(train.values));
  await writeFile(path.join(dir, 'test_codes.f32'), bytes(test.values));
  await writeFile(path.join(dir, 'train_labels.json'), JSON.stringify(train.labels));
  await writeFile(path.join(dir, 'test_labels.json'), JSON.stringify(test.labels));
  await writeFile(path.join(dir, 'meta.json'), JSON.stringify({ width }));
}
