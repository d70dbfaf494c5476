/** shared/analytics: pure clustering, classification and evaluation code (no Redis, no tfjs). */
export * from './kmeans.js';
export * from './labels.js';
export * from './matrix.js';
export * from './metrics.js';
export * from './pca.js';
export * from './split.js';
export * from './svm.js';
export * from './cluster-codes.js';
export * from './cluster-evaluation.js';
export * from './manifold.js';
export * from './neighbours.js';
