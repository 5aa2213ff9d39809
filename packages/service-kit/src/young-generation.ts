import v8 from 'node:v8';

/** V8's own growth factor of the young generation (its default). */
const DEFAULT_GROWTH_FACTOR = 2;

/**
 * Start-up (loading the modules, compiling schemas, migrating) allocates tens
 * of MB of short-lived objects in a few hundred ms, and V8 answered that by
 * growing the young generation (two semi-spaces) to its ceiling and keeping
 * it: 2 x 16 MiB of resident memory in an idle process (2 x 8 MiB in a chat
 * server worker, whose ceiling is lower). Held at its starting size until the
 * process serves; a few more scavenges at start cost a few ms. Call first
 * thing in main, then letYoungGenerationGrow once listening.
 */
export function holdYoungGenerationWhileStarting(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions = process.env.NODE_OPTIONS ?? '',
): void {
  if (!growthFactorGiven(execArgv, nodeOptions)) v8.setFlagsFromString('--semi-space-growth-factor=1');
}

/**
 * Once the process listens: its young generation grows with its load again,
 * as V8 would (up to its ceiling), unless the operator chose a growth factor.
 */
export function letYoungGenerationGrow(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): void {
  if (!growthFactorGiven(execArgv, nodeOptions)) v8.setFlagsFromString(`--semi-space-growth-factor=${DEFAULT_GROWTH_FACTOR}`);
}

function growthFactorGiven(execArgv: readonly string[], nodeOptions: string): boolean {
  return [...execArgv, ...nodeOptions.split(/\s+/)].some((a) => a.startsWith('--semi-space-growth-factor'));
}
