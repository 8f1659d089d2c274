/**
 * `ws-lifecycle diagram [--format mermaid|json]`: prints the lifecycle machine, drawn from the code by
 * the same generator as docs/machine.md, so the CLI and the docs always show the same diagram.
 */
import { parseArgs } from 'node:util';
import { connectionMachine } from '../../machines/connection-machine.js';
import { machineEdges, mermaidDiagram } from '../machine-diagram.js';
import { parsed, UsageError } from './args.js';
import { EXIT } from './exit-codes.js';

export const diagramHelp = `Usage: ws-lifecycle diagram [--format mermaid|json]

Prints the connection lifecycle machine, read from the machine itself (the diagram of docs/machine.md).

  --format mermaid   a Mermaid stateDiagram-v2 (default); paste it into a Markdown \`\`\`mermaid block
  --format json      { id, initial, states: [{ name, type }], transitions: [{ from, to, eventType,
                     trigger, guard, actions, stays }] }
  -h, --help         show this help

Deadlines appear as "after connect|write|read", guards in [brackets] ("else" for the fallback branch),
and "(stays)" marks a transition that only records something without changing state. For Stately's
editor, use docs/machine.json.`;

const OPTIONS = {
  format: { type: 'string', short: 'f' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function diagram(args: string[]): number {
  const { values, positionals } = parsed('diagram', () =>
    parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: true }),
  );
  if (values.help) {
    process.stdout.write(`${diagramHelp}\n`);
    return EXIT.ok;
  }
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`, 'diagram');
  }
  const format = values.format ?? 'mermaid';
  if (format === 'mermaid') process.stdout.write(`${mermaidDiagram(connectionMachine)}\n`);
  else if (format === 'json') process.stdout.write(`${JSON.stringify(machineGraph(), null, 2)}\n`);
  else throw new UsageError(`--format must be mermaid or json, got ${JSON.stringify(format)}`, 'diagram');
  return EXIT.ok;
}

/** The machine as data: its top-level states and every transition. */
export function machineGraph() {
  const root = connectionMachine.root;
  return {
    id: root.id,
    initial: root.initial.target[0]?.key ?? null,
    states: Object.entries(root.states).map(([name, node]) => ({ name, type: node.type })),
    transitions: machineEdges(connectionMachine),
  };
}
