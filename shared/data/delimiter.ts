/** Guessing a CSV file's field delimiter from its first line. */

/** Delimiters {@link detectDelimiter} chooses among, in order of preference on a tie. */
export const CANDIDATE_DELIMITERS = [',', ';', '\t'] as const;

/**
 * The candidate delimiter occurring most often outside double quotes in `line`; `,` when none occurs (a single
 * column) or on a tie.
 */
export function detectDelimiter(line: string): string {
  const counts = new Map<string, number>(CANDIDATE_DELIMITERS.map((d) => [d, 0]));
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && counts.has(ch)) counts.set(ch, counts.get(ch)! + 1);
  }
  let best: string = CANDIDATE_DELIMITERS[0];
  for (const d of CANDIDATE_DELIMITERS) if (counts.get(d)! > counts.get(best)!) best = d;
  return best;
}
