/** Fashion-MNIST as the benches read it (Debian `dataset-fashion-mnist`), and the peer reference's autoencoder recipe. */
import { readIdxTable } from '../shared/data/idx.js';
import type { Table } from '../shared/data/table.js';
import type { ModelOptions } from '../shared/ml/model-config.js';
import { sliceRows } from '../shared/pipeline/rows.js';

const DIR = '/usr/share/datasets/fashion-mnist/';

/** The reference recipe (../shared/reference): 784-256-64-256-784, relu, sigmoid output, MSE, Adam 1e-3, batch 256, pixels / 255. */
export const REFERENCE_RECIPE: ModelOptions = {
  encoder: [256, 64], activation: 'relu', codeActivation: 'relu', outputActivation: 'sigmoid', loss: 'mse', noise: 0,
  optimizer: 'adam', learningRate: 1e-3, lrSchedule: 'constant', batchSize: 256, validationSplit: 0, scale: 'none',
};

/** The first `rows` (at most 60k) training images and the 10k test images, with their labels. */
export async function loadFashionMnist(rows = Infinity): Promise<{ train: Table; test: Table }> {
  const all = await readIdxTable(`${DIR}train-images-idx3-ubyte.gz`, `${DIR}train-labels-idx1-ubyte.gz`);
  const train = sliceRows(all, 0, Math.min(rows, all.rows));
  const test = await readIdxTable(`${DIR}t10k-images-idx3-ubyte.gz`, `${DIR}t10k-labels-idx1-ubyte.gz`);
  return { train, test };
}
