// `inboard <command>`: one entry point for the tools of every package.
// Commands load their package on use: `import { Inboard } from 'inboard'` must not pull in the
// control plane.
async function runControlPlaneCli(
  argv: readonly string[],
  io: import('@inboard/control-plane').CliIo,
): Promise<number> {
  const { runCli } = await import('@inboard/control-plane');
  return runCli(argv, io);
}

async function runGatewayCli(
  argv: readonly string[],
  io: import('./gateway/gateway-cli.ts').GatewayCliIo,
): Promise<number> {
  const { runGatewayCli: run } = await import('./gateway/gateway-cli.ts');
  return run(argv, io);
}

const USAGE = `usage: inboard <command> [options]

commands:
  control-plane --config DIR [--registry FILE] [--port N] [--host H]
                           run the embedded istiod-compatible control plane
  gateway [--control-plane HOST:PORT] [--port N] [--tls-cert F --tls-key F]
                           run an Istio ingress gateway (istio=ingressgateway) on Inboard
  validate PATH...         check Istio YAML and registry files; print file:document:field problems

Run \`inboard <command> --help\` for the options of a command.
`;

export interface MainOptions {
  /** stops a long-running command; default: SIGINT / SIGTERM of this process */
  readonly signal?: AbortSignal;
}

/** SIGINT / SIGTERM stop the command gracefully; a second signal exits at once. */
function processSignal(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(sig === 'SIGINT' ? 130 : 143);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

export async function main(argv: readonly string[], options: MainOptions = {}): Promise<number> {
  const [command, ...rest] = argv;
  const io = { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
  const longRunning = async (run: (signal: AbortSignal) => Promise<number>): Promise<number> => {
    if (options.signal !== undefined) return run(options.signal);
    const s = processSignal();
    try {
      return await run(s.signal);
    } finally {
      s.dispose();
    }
  };
  switch (command) {
    case 'control-plane':
      if (rest.includes('--help') || rest.includes('-h')) return runControlPlaneCli(['help'], io);
      return longRunning((signal) => runControlPlaneCli(['serve', ...rest], { ...io, signal }));
    case 'gateway':
      return longRunning((signal) => runGatewayCli(rest, { ...io, signal }));
    case 'validate':
      return runControlPlaneCli(['validate', ...rest], io);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`inboard: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 2;
  }
}

// Run as a program from the sources: `node packages/inboard/src/cli.ts gateway ...`.
if (import.meta.main === true) {
  process.exitCode = await main(process.argv.slice(2));
}
