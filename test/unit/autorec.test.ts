import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readRatings, splitRatings, subsetRatings, RatingsBuilder } from '../../shared/data/ratings.js';
import { evaluateAutoRec, globalMeanRmse } from '../../shared/evaluation/autorec-evaluate.js';
import { AutoRec, type Recommendation } from '../../shared/ml/autorec.js';
import { resolveAutoRecConfig } from '../../shared/ml/autorec-config.js';
import { currentTensorCount, initBackend } from '../../shared/ml/backend.js';
import { ConfigError, InputError } from '../../shared/contracts/errors.js';
import { syntheticRatings } from '../helpers/ratings.js';

// A real ratings set used from ../shared only (research use; see ../shared/data/README.md), or LATENTFLOW_FILMTRUST.
const FILMTRUST = process.env.LATENTFLOW_FILMTRUST ?? new URL('../../../shared/data/filmtrust.tsv.gz', import.meta.url).pathname;
const NOISE = 0.3;
// AutoRec as published (ratings less the global mean, ranked by predicted rating, every epoch run), at the best
// measured settings for the 1,000 × 500 synthetic matrix (λ over 1–100, hidden 20–500, lr, batch, epochs).
const FAST = { lambda: 7, learningRate: 0.003, hidden: 100, epochs: 100, batchSize: 32, seed: 0, baseline: 'mean', ranking: 'rating', validation: 0 } as const;

before(async () => {
  await initBackend('wasm', () => {});
});

describe('autorec config', () => {
  test('measured defaults and validation naming the option', () => {
    const c = resolveAutoRecConfig();
    assert.deepEqual([c.variant, c.hidden, c.lambda, c.presenceHidden, c.presenceLambda, c.patience, c.baseline, c.ranking, c.implicit],
      ['item', 50, 50, 300, 10, 25, 'biases', 'presence', false]);
    assert.throws(() => resolveAutoRecConfig({ hidden: 0 }), (e: unknown) => e instanceof ConfigError && /hidden/.test(e.message));
    assert.throws(() => resolveAutoRecConfig({ lambda: -1 }), /lambda/);
    assert.throws(() => resolveAutoRecConfig({ variant: 'both' as never }), /variant/);
    assert.throws(() => resolveAutoRecConfig({ bogus: 1 } as never), /bogus/);
    // Implicit models have only the presence network: sizing the rating network there is a mistake, not a no-op.
    assert.throws(() => resolveAutoRecConfig({ implicit: true, hidden: 300 }), (e: unknown) => e instanceof ConfigError && /hidden size the rating network.*use presenceHidden/.test(e.message));
    assert.throws(() => resolveAutoRecConfig({ implicit: true, hidden: 300, lambda: 1 }), /use presenceHidden and presenceLambda/);
    assert.equal(resolveAutoRecConfig({ implicit: true, presenceHidden: 50 }).presenceHidden, 50);
  });
});

describe('I-AutoRec as published on a synthetic low-rank matrix (1,000 users × 500 items, rank 5, 5% observed, σ = 0.3)', () => {
  const all = syntheticRatings({ noise: NOISE });
  const { train, test: held } = splitRatings(all, 0.1, 0);
  let model: AutoRec;

  test('test RMSE well below the global-mean baseline', async () => {
    const tensorsBefore = currentTensorCount();
    const losses: number[] = [];
    model = await AutoRec.fit(train, FAST, { onEpoch: (p) => { losses.push(p.loss); } });
    assert.equal(losses.length, FAST.epochs);
    assert.ok(losses.at(-1)! < losses[0] / 2, `loss ${losses[0]} → ${losses.at(-1)}`);
    const rmse = model.rmse(held);
    const baseline = globalMeanRmse(train, held);
    // MEASURED (wasm, seed 0): rmse ≈ 0.534 = 1.78σ, baseline ≈ 0.963, σ = 0.3. At 5% observed each item has only ~45
    // training ratings; the 20% case below shows it reaching about 1.3σ when the data allows.
    console.log(`I-AutoRec 5%: test RMSE ${rmse.toFixed(4)}, global mean ${baseline.toFixed(4)}, noise ${NOISE}`);
    assert.ok(rmse < 0.6 * baseline, `rmse ${rmse} vs baseline ${baseline}`);
    assert.ok(rmse < 2 * NOISE, `rmse ${rmse} vs noise ${NOISE}`);
    // Training and prediction leave only the model's four variables behind.
    assert.equal(currentTensorCount(), tensorsBefore + 4);
  });

  test('predictions are clipped to the rating range; unseen users and items get the documented fallback', () => {
    const p = model.predictIndices(held.entries.user, held.entries.item);
    for (const x of p) assert.ok(x >= all.min && x <= all.max);
    const mean = train.entries.rating.reduce((s, r) => s + r, 0) / train.entries.rating.length;
    assert.ok(Math.abs(model.predict('nobody', 'nothing') - mean) < 1e-4);
    let s = 0;
    let n = 0;
    for (let k = 0; k < train.entries.item.length; k++) if (train.entries.item[k] === 0) { s += train.entries.rating[k]; n++; }
    assert.ok(Math.abs(model.predict('nobody', all.items[0]) - s / n) < 1e-4);
  });

  test('recommend returns N items the user has not rated, by predicted rating (ranking: rating)', () => {
    const user = all.users[3];
    const seen = new Set<string>();
    for (let k = 0; k < train.entries.user.length; k++) if (train.entries.user[k] === 3) seen.add(all.items[train.entries.item[k]]);
    assert.ok(seen.size > 0);
    const top = model.recommend(user, 10);
    assert.equal(top.length, 10);
    for (const { item } of top) assert.ok(!seen.has(item), `${item} was rated`);
    assert.equal(new Set(top.map((t) => t.item)).size, 10);
    for (let k = 1; k < top.length; k++) assert.ok(top[k - 1].score >= top[k].score);
    for (const t of top) {
      assert.ok(Math.abs(model.predict(user, t.item) - t.score) < 1e-5);
      assert.equal(t.rating, t.score);
    }
    const withSeen = model.recommend(user, 500, { excludeSeen: false });
    assert.equal(withSeen.length, 500);
  });

  test('recommendAll gives every user the list recommend gives, in batches, with unknown users on the item-mean fallback', async () => {
    const users = [...all.users.slice(0, 40), 'stranger'];
    const batches: number[] = [];
    const lists = new Map<string, Recommendation[]>();
    for await (const batch of model.recommendAll(7, { users, batchUsers: 16 })) {
      batches.push(batch.length);
      for (const { user, items } of batch) lists.set(user, items);
    }
    assert.deepEqual(batches, [16, 16, 9]);
    for (const user of users) assert.deepEqual(lists.get(user), model.recommend(user, 7), user);
    let count = 0;
    for await (const batch of model.recommendAll(2)) count += batch.length;
    assert.equal(count, all.users.length);
  });

  test('save/load round trip gives identical predictions; dispose frees the variables', () => {
    const tensors = currentTensorCount();
    const bytes = model.save();
    const loaded = AutoRec.load(bytes, 'mem.lfm');
    try {
      assert.deepEqual(loaded.predictIndices(held.entries.user, held.entries.item), model.predictIndices(held.entries.user, held.entries.item));
      assert.deepEqual(loaded.recommend(all.users[5], 5), model.recommend(all.users[5], 5));
      assert.deepEqual(loaded.config, model.config);
    } finally {
      loaded.dispose();
    }
    model.dispose();
    assert.equal(currentTensorCount(), tensors - 4);
    assert.throws(() => model.predict('u1', 'i1'), /dispose/);
  });

  test('load rejects other artifacts', () => {
    assert.throws(() => AutoRec.load(Buffer.from('nope')), (e: unknown) => e instanceof InputError && /LFM1/.test(e.message));
  });
});

describe('I-AutoRec on a denser synthetic matrix (20% observed)', () => {
  test('reaches close to the noise level when each item has ~200 ratings', async () => {
    const all = syntheticRatings({ noise: NOISE, observed: 0.2 });
    const { train, test: held } = splitRatings(all, 0.1, 0);
    const model = await AutoRec.fit(train, FAST);
    try {
      const rmse = model.rmse(held);
      console.log(`I-AutoRec 20%: test RMSE ${rmse.toFixed(4)}, global mean ${globalMeanRmse(train, held).toFixed(4)}, noise ${NOISE}`);
      // MEASURED (wasm, seed 0): rmse ≈ 0.39 = 1.3σ, baseline ≈ 0.96.
      assert.ok(rmse < 1.5 * NOISE, `rmse ${rmse} vs noise ${NOISE}`);
      assert.ok(rmse < 0.5 * globalMeanRmse(train, held));
    } finally {
      model.dispose();
    }
  });
});

describe('U-AutoRec', () => {
  test('trains on user vectors and predicts within range', async () => {
    const all = syntheticRatings({ users: 200, items: 100, observed: 0.1, seed: 2 });
    const { train, test: held } = splitRatings(all, 0.1, 1);
    const tensors = currentTensorCount();
    const model = await AutoRec.fit(train, { variant: 'user', hidden: 32, lambda: 10, learningRate: 0.003, epochs: 20, ranking: 'rating' });
    try {
      const rmse = model.rmse(held);
      assert.ok(Number.isFinite(rmse) && rmse < 1.5 * globalMeanRmse(train, held), `rmse ${rmse}`);
      const seen = new Set<string>();
      for (let k = 0; k < train.entries.user.length; k++) if (train.entries.user[k] === 0) seen.add(all.items[train.entries.item[k]]);
      const top = model.recommend(all.users[0], 5);
      assert.equal(top.length, 5);
      for (const { item } of top) assert.ok(!seen.has(item), `${item} was rated`);
      const listed: Recommendation[][] = [];
      for await (const batch of model.recommendAll(5, { users: [all.users[0]] })) listed.push(...batch.map((b) => b.items));
      assert.deepEqual(listed, [top]);
    } finally {
      model.dispose();
    }
    assert.equal(currentTensorCount(), tensors);
  });

  test('rejects empty training data', async () => {
    await assert.rejects(AutoRec.fit(new RatingsBuilder().build()), InputError);
  });
});

describe('defaults on a small real slice (FilmTrust, first 6,000 ratings, read from ../shared/data)', () => {
  test('RMSE below the global mean and bias model, ranking above popularity; implicit feedback ranks near popularity', async (t) => {
    if (!existsSync(FILMTRUST)) return t.skip(`FilmTrust is not at ${FILMTRUST}`);
    const all = await readRatings(FILMTRUST);
    const slice = subsetRatings(all, Array.from({ length: 6000 }, (_, k) => k));
    const tensors = currentTensorCount();
    // The defaults as shipped (early stopping ends training at about 50 epochs here).
    const explicit = await evaluateAutoRec(slice);
    console.log(`FilmTrust slice: RMSE ${explicit.rmse?.toFixed(4)} (global mean ${explicit.baselines.global_mean_rmse.toFixed(4)}, bias ${explicit.baselines.bias_rmse.toFixed(4)}); NDCG@10 ${explicit.ranking.ndcg.toFixed(4)} (popularity ${explicit.popularity.ndcg.toFixed(4)})`);
    assert.ok(explicit.rmse! < explicit.baselines.global_mean_rmse, JSON.stringify(explicit));
    assert.ok(explicit.rmse! < explicit.baselines.bias_rmse, JSON.stringify(explicit));
    assert.ok(explicit.ranking.ndcg > explicit.baselines.popularity_ndcg, JSON.stringify(explicit));
    for (const key of ['precision', 'recall', 'ndcg', 'hit_rate'] as const) assert.ok(explicit.ranking[key] >= 0 && explicit.ranking[key] <= 1);
    const implicit = await evaluateAutoRec(slice, { model: { epochs: 30, implicit: true } });
    console.log(`FilmTrust slice, implicit: NDCG@10 ${implicit.ranking.ndcg.toFixed(4)} (popularity ${implicit.popularity.ndcg.toFixed(4)})`);
    assert.equal(implicit.rmse, null);
    // MEASURED: 0.520 vs popularity 0.518 on this slice at 30 epochs (0.549 at the default 100; it ranks from 5,400
    // clicks); on all of FilmTrust bench/results/autorec.md has the defaults' figure. Here: within 10% of popularity,
    // far above a random order.
    assert.ok(implicit.ranking.ndcg > 0.9 * implicit.popularity.ndcg, JSON.stringify(implicit));
    assert.equal(currentTensorCount(), tensors);
  });
});
