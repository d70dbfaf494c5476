/** The Redis adapters: connections, a private redis-server, datasets, models, embeddings and alerts. */
export * from './redis.js';
export * from './redis-server.js';
export * from './datasets.js';
export * from './models.js';
export * from './embeddings.js';
export * from './alerts.js';
export { bufferToFloat32, float32ToBuffer } from './binary.js';
export { checkName, compareIds } from './util.js';
