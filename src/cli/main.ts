#!/usr/bin/env node
/**
 * `ws-lifecycle`: the command line. Picks the command, turns usage mistakes into exit status 2, and
 * leaves each command to its own file.
 */
import { UsageError } from './args.js';
import { EXIT, exitTableText } from './exit-codes.js';
import { painter, useColour } from './format.js';
import { packageVersion } from './version.js';

const HELP = `Usage: ws-lifecycle <command> [options]

A WebSocket client whose whole lifecycle is an explicit state machine:
idle → connecting → open → closing-sent → draining → closed, every close under deadlines.

Commands:
  connect <url>          interactive client: stdin lines out, messages in, state changes on stderr
  demo [--peer <mode>]   watch clean and misbehaving peers on 127.0.0.1 (what npm start runs)
  diagram [--format]     print the machine as Mermaid or JSON
  verify <trail.jsonl>   check an audit trail written by --audit or jsonlAudit
  serve --port <n>       local server: adopts its connections, shows their lifecycles (like wscat -l)

Options:
  -h, --help             show help (also: ws-lifecycle <command> --help)
  -v, --version          show the version

Exit status:
${exitTableText()}`;

type Command = (args: string[]) => number | Promise<number>;

/** Each command loads only what it needs: `--help`, `--version` and `diagram` never load ws. */
const COMMANDS: Record<string, () => Promise<Command>> = {
  connect: async () => (await import('./connect.js')).connect,
  demo: async () => (await import('./demo.js')).demo,
  diagram: async () => (await import('./diagram.js')).diagram,
  verify: async () => (await import('./verify.js')).verify,
  serve: async () => (await import('./serve.js')).serve,
};

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  try {
    if (first === 'help' && rest[0] !== undefined) return await main([rest[0], '--help']);
    if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
      process.stdout.write(`${HELP}\n`);
      return EXIT.ok;
    }
    if (first === '-v' || first === '--version') {
      process.stdout.write(`${packageVersion()}\n`);
      return EXIT.ok;
    }
    const load = Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
    if (!load) {
      throw new UsageError(
        first.startsWith('-') ? `unknown option ${first}` : `unknown command ${JSON.stringify(first)}`,
      );
    }
    return await (await load())(rest);
  } catch (error) {
    const paint = painter(useColour(process.stderr));
    if (error instanceof UsageError) {
      const help = error.command ? `ws-lifecycle ${error.command} --help` : 'ws-lifecycle --help';
      process.stderr.write(
        `${paint('red', 'ws-lifecycle:')} ${error.message}\n${paint('dim', `See ${help}.`)}\n`,
      );
      return EXIT.usage;
    }
    process.stderr.write(
      `${paint('red', 'ws-lifecycle: internal error:')} ${(error as Error)?.stack ?? error}\n`,
    );
    return EXIT.failure;
  }
}

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Everything is closed by now; if a stray handle still holds the loop, do not hang.
setTimeout(() => process.exit(code), 1000).unref();
