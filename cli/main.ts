/** The `latentflow` command. */
import { startTracing } from '../shared/pipeline/tracing.js';
import { Command, CommanderError } from 'commander';
import { LatentflowError } from '../shared/contracts/errors.js';
import { describeError } from '../shared/pipeline/log.js';
import { redact } from '../shared/store/redis.js';
import { alertsCommand } from './commands/alerts.js';
import { autorecCommand } from './commands/autorec.js';
import { dashboardCommand } from './commands/dashboard.js';
import { datasetCommand } from './commands/dataset.js';
import { demoCommand } from './commands/demo.js';
import { embeddingsCommand } from './commands/embeddings.js';
import { encodeCommand } from './commands/encode.js';
import { evaluateCommand } from './commands/evaluate.js';
import { fitCommand } from './commands/fit.js';
import { jobsCommand } from './commands/jobs.js';
import { modelsCommand } from './commands/models.js';
import { recommendCommand } from './commands/recommend.js';
import { reportCommand } from './commands/report.js';
import { runCommand } from './commands/run.js';
import { scheduleCommand } from './commands/schedule.js';
import { scoreCommand } from './commands/score.js';
import { sourceCommand } from './commands/source.js';
import { upCommand } from './commands/up.js';

/** A command and, for a group such as `dataset`, each of its subcommands: name, usage and options. */
function helpOf(c: Command, parent = ''): string[] {
  const name = `${parent}${c.name()}`;
  if (c.commands.length > 0) return c.commands.flatMap((sub) => helpOf(sub, `${name} `));
  return [`${name} ${c.usage()}\n${c.options.map((o) => `  ${o.flags.padEnd(34)} ${o.description}`).join('\n')}`];
}

const program: Command = new Command('latentflow')
  .description('train autoencoders and put their latent codes to work: clustering, classification, anomaly detection')
  .version('0.1.0')
  // Options of the program (--version) only before a subcommand, so `models delete m --version 2` reaches the subcommand.
  .enablePositionalOptions()
  .showHelpAfterError()
  .addCommand(fitCommand())
  .addCommand(encodeCommand())
  .addCommand(scoreCommand())
  .addCommand(evaluateCommand())
  .addCommand(autorecCommand())
  .addCommand(recommendCommand())
  .addCommand(datasetCommand())
  .addCommand(runCommand())
  .addCommand(reportCommand())
  .addCommand(modelsCommand())
  .addCommand(scheduleCommand())
  .addCommand(sourceCommand())
  .addCommand(jobsCommand())
  .addCommand(embeddingsCommand())
  .addCommand(alertsCommand())
  .addCommand(upCommand())
  .addCommand(dashboardCommand())
  .addCommand(demoCommand())
  .addHelpText('after', (): string => [
    '',
    ...program.commands.flatMap((c: Command) => helpOf(c)),
    'Environment: LATENTFLOW_BACKEND=auto|tensorflow|wasm|cpu (default auto), LATENTFLOW_LOG_LEVEL=error|warn|info|debug (default info),\n'
      + 'REDIS_URL (pipeline commands; unset: `up` and `demo` start a private redis-server), LATENTFLOW_PREFIX (default lf), LATENTFLOW_DATA_DIR (default ./data)',
  ].join('\n\n'));

// Output piped into a reader that stops early (`| head`) ends the command quietly.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

async function run(): Promise<void> {
  try {
    const stopTracing = startTracing('cli');
    await program.parseAsync(process.argv).finally(stopTracing);
  } catch (error) {
    if (error instanceof CommanderError) process.exit(error.exitCode);
    if (error instanceof LatentflowError) {
      console.error(`latentflow: ${redact(error.message)}`);
      process.exit(2);
    }
    throw error;
  }
}

run().catch((error: unknown) => {
  console.error(describeError(error));
  process.exit(1);
});
