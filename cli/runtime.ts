/** What every command needs before it runs: validated configuration and the chosen TensorFlow.js backend. */
import { loadConfig } from '../shared/config.js';
import { initBackend, type BackendInfo } from '../shared/ml/backend.js';

export async function startRuntime(quiet = false): Promise<BackendInfo> {
  const config = loadConfig();
  return initBackend(config.backend, quiet ? () => {} : undefined);
}
