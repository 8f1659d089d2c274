/**
 * `ws-lifecycle diagram [--machine connection|supervisor] [--format mermaid|json]`: prints a machine,
 * drawn from the code by the same generator as docs/machine.md and docs/supervisor.md, so the CLI and
 * the docs always show the same diagram.
 */
import { parseArgs } from 'node:util';
import type { AnyStateMachine } from 'xstate';
import { diagramMachines, machineEdges, machineStates, mermaidDiagram } from '../machine-diagram.js';
import { parsed, UsageError } from './args.js';
import { EXIT } from './exit-codes.js';

const MACHINES = diagramMachines();
const NAMES = MACHINES.map((m) => m.name).join('|');

/** `ws-lifecycle diagram --help`. */
export const diagramHelp = `Usage: ws-lifecycle diagram [--machine ${NAMES}] [--format mermaid|json]

Prints a machine, read from the machine itself (the diagram of docs/machine.md, or docs/supervisor.md
for --machine supervisor).

  --machine <name>   ${NAMES} (default connection: one WebSocket's lifecycle;
                     supervisor: a managed connection that reconnects)
  --format mermaid   a Mermaid stateDiagram-v2 (default); paste it into a Markdown \`\`\`mermaid block
  --format json      { id, initial, states: [{ name, type }], transitions: [{ from, to, eventType,
                     trigger, guard, actions, stays, reenter }] }; nested states are named by path
                     (open.quiet)
  -h, --help         show this help

The main line runs through the top-level states. Deadlines appear as "after <deadline>", guards in
[brackets] ("else" for the fallback branch); "(stays)" marks a transition that changes no state. A
transition off the main line is written in its state's box as "event [guard] → target", and one
shared by several states once, in its target's box. For Stately's editor, use docs/machine.json.`;

const OPTIONS = {
  machine: { type: 'string', short: 'm' },
  format: { type: 'string', short: 'f' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Runs `ws-lifecycle diagram`; returns the exit status (usage errors throw {@link UsageError}). */
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
  const name = values.machine ?? 'connection';
  const entry = MACHINES.find((m) => m.name === name);
  if (!entry) throw new UsageError(`--machine must be ${NAMES}, got ${JSON.stringify(name)}`, 'diagram');
  const format = values.format ?? 'mermaid';
  if (format === 'mermaid') process.stdout.write(`${mermaidDiagram(entry.machine)}\n`);
  else if (format === 'json')
    process.stdout.write(`${JSON.stringify(machineGraph(entry.machine), null, 2)}\n`);
  else throw new UsageError(`--format must be mermaid or json, got ${JSON.stringify(format)}`, 'diagram');
  return EXIT.ok;
}

/** The machine as data: every state (nested ones by path, e.g. `open.quiet`) and every transition. */
export function machineGraph(machine: AnyStateMachine = (MACHINES[0] as (typeof MACHINES)[number]).machine) {
  const root = machine.root;
  return {
    id: root.id,
    initial: root.initial.target[0]?.key ?? null,
    states: machineStates(machine).map((s) => ({ name: s.path, type: s.type })),
    transitions: machineEdges(machine),
  };
}
