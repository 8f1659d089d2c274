/**
 * `ws-lifecycle verify <trail.jsonl> [--complete] [--require-chain]`: checks an audit trail written by `connect --audit` or
 * `jsonlAudit`: exit 0 when valid, 1 with the first bad record and why.
 */
import { parseArgs } from 'node:util';
import { type TrailFileVerification, verifyTrailFile } from '../audit/trail-file.js';
import { parsed, UsageError } from './args.js';
import { EXIT } from './exit-codes.js';
import { painter, useColour } from './format.js';

export const verifyHelp = `Usage: ws-lifecycle verify <trail.jsonl> [--complete] [--require-chain]

Checks an audit trail written by \`ws-lifecycle connect --audit\` or \`jsonlAudit\`, each connection in
the file as its own trail: every transition is one the machine can make, seq has no gap or repeat,
time never goes backwards, and the hash chain is intact (a removed, reordered or edited record is
detected).

  --complete        also require every connection's trail to end with its closed record
  --require-chain   also require every record to carry its hash chain (prev and hash): without it, a
                    file whose hash fields were all stripped is checked without them
  -h, --help        show this help

Exit status: 0 valid (prints how many records were checked), 1 invalid (prints the first bad line,
seq and why), 2 usage error or unreadable file.`;

const OPTIONS = {
  complete: { type: 'boolean' },
  'require-chain': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function verify(args: string[]): Promise<number> {
  const { values, positionals } = parsed('verify', () =>
    parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: true }),
  );
  if (values.help) {
    process.stdout.write(`${verifyHelp}\n`);
    return EXIT.ok;
  }
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length === 0 ? 'missing <trail.jsonl>' : 'expected one file', 'verify');
  }
  const file = positionals[0] as string;
  let result: TrailFileVerification;
  try {
    result = await verifyTrailFile(file, {
      complete: values.complete === true,
      requireChain: values['require-chain'] === true,
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new UsageError(`cannot read ${JSON.stringify(file)} (${code})`, 'verify');
  }
  const paint = painter(useColour(process.stdout));
  const connections = `${result.connections} connection${result.connections === 1 ? '' : 's'}`;
  if (result.ok) {
    process.stdout.write(
      `${paint('green', 'valid')}: ${result.checked} records checked (${connections}) in ${file}\n`,
    );
    return EXIT.ok;
  }
  const error = result.error;
  const where = error
    ? [
        `line ${error.line}`,
        error.seq === null ? '' : `seq ${error.seq}`,
        // With several connections in the file, say whose trail failed.
        result.connections > 1 && error.connectionId !== null ? `connection ${error.connectionId}` : '',
      ]
        .filter(Boolean)
        .join(', ')
    : 'somewhere';
  process.stdout.write(`${paint('red', 'invalid')}: ${where}: ${error?.reason ?? 'unknown reason'}\n`);
  process.stdout.write(`${result.checked} records verified before it (${connections}) in ${file}\n`);
  return EXIT.failure;
}
