/** Reading only files inside one directory (the data directory, LATENTFLOW_DATA_DIR). */
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../contracts/errors.js';

/** Whether `p` lies strictly inside `root` (both absolute), by path segments: `root/..weird.csv` does, `root/../x` does not. */
export function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

/**
 * The real path (symbolic links resolved) of `file`, taken relative to `root` unless absolute, when it lies inside
 * the real path of `root`. Read the returned path, not `file`: that is the file that was checked. A file outside
 * (`..`, an absolute path elsewhere, a symbolic link out) or missing is an {@link InputError} naming `file` and `root`.
 */
export async function realPathWithin(root: string, file: string): Promise<string> {
  const refuse = () => new InputError(`resolves outside the data directory ${root} (LATENTFLOW_DATA_DIR); only files inside it are read`, { source: file });
  const resolved = path.resolve(root, file);
  if (!isInside(path.resolve(root), resolved)) throw refuse();
  let real: string;
  try {
    real = await realpath(resolved);
  } catch (error) {
    throw new InputError(`no such file in the data directory ${root}`, { source: file }, { cause: error });
  }
  if (!isInside(await realpath(root), real)) throw refuse();
  return real;
}
