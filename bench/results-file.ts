/** Where benchmark results go: `bench/results/<suite>.json` and `.md` (with the machine, see ./machine.ts). */
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** Writes `<suite>.json` and `<suite>.md` under bench/results (or `dir`); returns the paths. */
export async function writeResults(suite: string, json: unknown, markdown: string, dir = fileURLToPath(new URL('./results/', import.meta.url))): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const paths = [`${dir}${suite}.json`, `${dir}${suite}.md`];
  await writeFile(paths[0], `${JSON.stringify(json, null, 2)}\n`);
  await writeFile(paths[1], `${markdown}\n`);
  return paths;
}
