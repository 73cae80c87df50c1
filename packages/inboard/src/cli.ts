// `inboard <command>`: one entry point for the tools of every package.
import { runCli as runControlPlaneCli } from '@inboard/control-plane';

const USAGE = `usage: inboard <command> [options]

commands:
  control-plane --config DIR [--registry FILE] [--port N] [--host H]
                           run the embedded istiod-compatible control plane
  validate PATH...         check Istio YAML and registry files; print file:document:field problems
`;

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  const io = { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
  switch (command) {
    case 'control-plane':
      return runControlPlaneCli(['serve', ...rest], io);
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
