/**
 * The records with the largest anomaly score, with the features that contribute most to each one's reconstruction
 * error and the attribution of its score to features.
 */
import type { Autoencoder } from '../ml/autoencoder.js';
import { featureAligner, rowsWithIds } from '../pipeline/rows.js';
import type { DatasetStore } from '../store/datasets.js';
import type { EmbeddingStore, EmbeddingTarget } from '../store/embeddings.js';
import type { Anomaly } from './data.js';

export interface AnomalyOptions {
  /** Records listed. Default 10. */
  top?: number;
  /** Features named per record. Default 3. */
  features?: number;
  /** Records above it are marked anomalous. */
  threshold?: number;
  /** Per record id, when known. */
  labels?: ReadonlyMap<string, string>;
  clusters?: ReadonlyMap<string, string>;
  predictions?: ReadonlyMap<string, string>;
}

/**
 * The `top` records of `t` by stored error, largest first, each with its `features` worst features: its raw row is
 * read from the dataset and scored cell by cell with `model`. A record whose row is no longer in the dataset gets
 * no features (and `missing` counts it).
 */
export async function topAnomalies(
  deps: { datasets: Pick<DatasetStore, 'chunks'>; embeddings: Pick<EmbeddingStore, 'top'> },
  t: EmbeddingTarget,
  model: Autoencoder,
  options: AnomalyOptions = {},
): Promise<{ anomalies: Anomaly[]; missing: number }> {
  const top = await deps.embeddings.top(t, options.top ?? 10);
  const rows = top.length > 0 ? await rowsWithIds(deps.datasets, t.dataset, new Set(top.map((a) => a.id))) : undefined;
  const featuresOf = new Map<string, Anomaly['features']>();
  const attributionOf = new Map<string, Anomaly['attribution']>();
  if (rows) {
    const table = featureAligner(rows.features, model.features, t.dataset)(rows);
    const cells = model.score(table, { cells: true }).cellErrors!;
    const attribution = model.attribute(table, options.features ?? 3);
    table.ids.forEach((id, r) => {
      featuresOf.set(id, model.topFeatures(cells.subarray(r * table.width, (r + 1) * table.width), options.features ?? 3));
      attributionOf.set(id, attribution[r]);
    });
  }
  const pValues = model.pValues(top.map((a) => a.error));
  const anomalies = top.map(({ id, error }, i): Anomaly => ({
    id, error, anomalous: options.threshold !== undefined && error > options.threshold,
    ...(pValues ? { pValue: pValues[i] } : {}),
    attribution: attributionOf.get(id) ?? [],
    ...optional('label', options.labels?.get(id)),
    ...optional('cluster', options.clusters?.get(id)),
    ...optional('prediction', options.predictions?.get(id)),
    features: featuresOf.get(id) ?? [],
  }));
  return { anomalies, missing: top.filter((a) => !featuresOf.has(a.id)).length };
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}
