#!/usr/bin/env node
// The `inboard` command. Runs the compiled CLI; inside this repository, where the sources are the
// truth, it runs them directly when dist/ has not been built.
import { existsSync } from 'node:fs';

const built = new URL('../dist/cli.js', import.meta.url);
const { main } = await import(existsSync(built) ? built.href : new URL('../src/cli.ts', import.meta.url).href);
process.exitCode = await main(process.argv.slice(2));
