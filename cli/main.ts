/** The `latentflow` command. */
import { Command, CommanderError } from 'commander';
import { LatentflowError } from '../shared/contracts/errors.js';
import { encodeCommand } from './commands/encode.js';
import { evaluateCommand } from './commands/evaluate.js';
import { fitCommand } from './commands/fit.js';
import { scoreCommand } from './commands/score.js';

const program: Command = new Command('latentflow')
  .description('train autoencoders and put their latent codes to work: clustering, classification, anomaly detection')
  .version('0.1.0')
  .showHelpAfterError()
  .addCommand(fitCommand())
  .addCommand(encodeCommand())
  .addCommand(scoreCommand())
  .addCommand(evaluateCommand())
  .addHelpText('after', (): string => [
    '',
    ...program.commands.map((c: Command) => `${c.name()} ${c.usage()}\n${c.options.map((o) => `  ${o.flags.padEnd(34)} ${o.description}`).join('\n')}`),
    'Environment: LATENTFLOW_BACKEND=auto|tensorflow|wasm|cpu (default auto), LATENTFLOW_LOG_LEVEL=error|warn|info|debug (default info)',
  ].join('\n\n'));

async function run(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) process.exit(error.exitCode);
    if (error instanceof LatentflowError) {
      console.error(`latentflow: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
}

run().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
