/**
 * `latentflow recommend --model NAME[@VERSION] --user ID [--n 10]`: a user's top items under an AutoRec model, as a
 * recommend job stored them; computed from the model when none are stored for that version (or fewer than --n).
 */
import { Command } from 'commander';
import { ModelRegistry } from '../../shared/store/models.js';
import { RecommendationStore } from '../../shared/store/recommendations.js';
import type { Recommendation } from '../../shared/ml/autorec.js';
import { positiveInteger } from '../arg-parsers.js';
import { withConnection } from '../connection.js';
import { parseModelRef } from '../model-ref.js';
import { printRows } from '../output.js';
import { startRuntime } from '../runtime.js';

export function recommendCommand(): Command {
  return new Command('recommend')
    .description('print a user\'s top items (not rated by the user) under an AutoRec model version, best first')
    .requiredOption('--model <name[@version]>', 'AutoRec model and version (number or alias; default latest)')
    .requiredOption('--user <id>', 'user id')
    .option('--n <n>', 'items (default: as many as stored, else 10)', positiveInteger)
    .option('--json', 'print {model, version, user, source, items: [{item, score, rating?}]} as JSON (rating: explicit-rating models only)')
    .action(async (opts: { model: string; user: string; n?: number; json?: boolean }) => {
      const ref = parseModelRef(opts.model);
      await withConnection(async ({ redis, keys }) => {
        const models = new ModelRegistry(redis, keys);
        const version = await models.resolve(ref.name, ref.ref);
        const store = new RecommendationStore(redis, keys);
        const status = await store.status(ref.name, version);
        const n = opts.n ?? status?.n ?? 10;
        const stored = status !== undefined && status.n >= n ? await store.top(ref.name, version, opts.user) : undefined;
        let items: Recommendation[];
        let source: 'stored' | 'computed';
        if (stored !== undefined) {
          items = stored.slice(0, n);
          source = 'stored';
        } else {
          await startRuntime(opts.json === true);
          const { model } = await models.loadAutoRec(ref.name, version);
          try {
            items = model.recommend(opts.user, n);
            if (!model.users.includes(opts.user)) console.error(`user "${opts.user}" is unknown to ${ref.name}@${version}: showing the fallback ranking (${model.config.implicit ? 'the most popular items' : 'the items with the highest predicted rating with no user part'})`);
          } finally {
            model.dispose();
          }
          source = 'computed';
        }
        if (opts.json === true) return console.log(JSON.stringify({ model: ref.name, version, user: opts.user, source, items }));
        printRows(['rank', 'item', 'score', 'predicted rating'], items.map((r, i) => [i + 1, r.item, r.score, r.rating ?? '']));
        if (source === 'computed') console.error(`(computed from ${ref.name}@${version}: no stored recommendations of ≥ ${n} items for this user; a recommend job stores them)`);
      });
    });
}
