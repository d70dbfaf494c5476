/** Every metric of analytics, from one import. */
export { accuracy, confusionMatrix, macroF1, type ConfusionMatrix } from './classification-metrics.js';
export { ari, clusteringAccuracy, matchClusters, nmi, silhouetteScore, type ClusterMatch, type SilhouetteOptions } from './clustering-metrics.js';
export { auprc, auroc, type BinaryLabels } from './ranking-metrics.js';
export { mse, rmse, type Values } from './regression-metrics.js';
