/** What every command needs before it runs: validated configuration and the chosen TensorFlow.js backend. */
import { loadConfig } from '../shared/config.js';
import { initBackend, type BackendInfo } from '../shared/ml/backend.js';

/** Loads the configuration and starts the backend; the choice is logged on stderr at log level info or debug. */
export async function startRuntime(quiet = false): Promise<BackendInfo> {
  const config = loadConfig();
  const verbose = !quiet && (config.logLevel === 'info' || config.logLevel === 'debug');
  return initBackend(config.backend, verbose ? undefined : () => {}, { blasThreads: config.blasThreads });
}
