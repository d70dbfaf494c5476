/**
 * The environment → validated configuration, in one function. Every variable is documented here once, with its
 * default; an invalid value stops start-up with a ConfigError naming the variable.
 *
 * | variable | default | meaning |
 * |---|---|---|
 * | LATENTFLOW_BACKEND | auto | TensorFlow.js backend: auto (tensorflow, else wasm, else cpu), tensorflow, wasm, cpu |
 * | LATENTFLOW_LOG_LEVEL | info | error, warn, info or debug |
 */
import { z } from 'zod';
import { ConfigError } from './contracts/errors.js';

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;

const EnvSchema = z.object({
  LATENTFLOW_BACKEND: z.enum(['auto', 'tensorflow', 'wasm', 'cpu']).default('auto'),
  LATENTFLOW_LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
});

export interface Config {
  backend: z.output<typeof EnvSchema>['LATENTFLOW_BACKEND'];
  logLevel: (typeof LOG_LEVELS)[number];
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue.path[0]);
    throw new ConfigError(`${name}=${JSON.stringify(env[name])}: ${issue.message}`);
  }
  return { backend: parsed.data.LATENTFLOW_BACKEND, logLevel: parsed.data.LATENTFLOW_LOG_LEVEL };
}
