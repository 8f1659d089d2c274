/**
 * The command line itself: help, version, and every kind of usage mistake → a clear message, exit 2.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { cli, ensureBuilt, killAll, ROOT } from './helpers.js';

beforeAll(() => ensureBuilt(), 120_000);
afterAll(() => killAll());

describe.concurrent('help and version', () => {
  it('--help lists the commands and the exit statuses', async ({ expect }) => {
    for (const args of [['--help'], ['-h'], []]) {
      const run = cli(args);
      expect((await run.exit).code).toBe(0);
      expect(run.stdout).toContain('Usage: ws-lifecycle <command>');
      for (const command of ['connect <url>', 'demo', 'diagram', 'verify <trail.jsonl>']) {
        expect(run.stdout).toContain(command);
      }
      for (const code of [0, 1, 2, 3, 4, 5, 6, 130])
        expect(run.stdout).toMatch(new RegExp(`^ +${code}  `, 'm'));
    }
  });

  it.for(['connect', 'demo', 'diagram', 'verify'])('%s --help', async (command, { expect }) => {
    const run = cli([command, '--help']);
    expect((await run.exit).code).toBe(0);
    expect(run.stdout).toContain(`Usage: ws-lifecycle ${command}`);
    expect(run.stderr).toBe('');
  });

  it('--version prints the version from package.json', async ({ expect }) => {
    const { version } = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as { version: string };
    const run = cli(['--version']);
    expect((await run.exit).code).toBe(0);
    expect(run.stdout).toBe(`${version}\n`);
  });
});

describe.concurrent('usage errors exit 2 with a clear message', () => {
  it.for([
    { args: ['fly'], says: 'unknown command "fly"' },
    { args: ['--bogus'], says: 'unknown option --bogus' },
    { args: ['connect'], says: 'missing <url>' },
    { args: ['connect', 'ws://127.0.0.1:1', 'extra'], says: 'expected one <url>' },
    { args: ['connect', '--bogus', 'ws://127.0.0.1:1'], says: "Unknown option '--bogus'" },
    {
      args: ['connect', 'ws://127.0.0.1:1', '--connect-timeout'],
      says: "Option '--connect-timeout <value>' argument missing",
    },
    {
      args: ['connect', 'ws://127.0.0.1:1', '--read-timeout', '1.5'],
      says: '--read-timeout must be a whole number',
    },
    {
      args: ['connect', 'ws://127.0.0.1:1', '--write-timeout', '0'],
      says: '--write-timeout must be a whole number',
    },
    { args: ['connect', 'ws://127.0.0.1:1', '--close-code', '1005'], says: 'close code 1005 cannot be sent' },
    { args: ['connect', 'ws://127.0.0.1:1', '--close-reason', 'x'.repeat(124)], says: 'at most 123' },
    { args: ['connect', 'ws://127.0.0.1:1', '--protocol', 'a b'], says: 'not a valid subprotocol name' },
    { args: ['connect', 'ftp://127.0.0.1/'], says: 'url scheme must be ws: or wss:' },
    { args: ['connect', 'not a url'], says: 'url is not a valid absolute URL' },
    { args: ['demo', '--peer', 'nope'], says: '--peer must be one of: echo, silent' },
    { args: ['diagram', '--format', 'svg'], says: '--format must be mermaid or json' },
    { args: ['verify'], says: 'missing <trail.jsonl>' },
    { args: ['verify', '/nonexistent/trail.jsonl'], says: 'cannot read "/nonexistent/trail.jsonl" (ENOENT)' },
  ])('$args.0 $args.1 $args.2', async ({ args, says }, { expect }) => {
    const run = cli(args);
    expect((await run.exit).code).toBe(2);
    expect(run.stderr).toContain(says);
    expect(run.stderr).toMatch(/See ws-lifecycle (\w+ )?--help\./);
    expect(run.stdout).toBe('');
  });

  it('never echoes a header value or URL credentials in an error', async ({ expect }) => {
    const run = cli(['connect', 'ftp://alice:pa55word@127.0.0.1/?token=SECRET1', '-H', 'X-Token SECRET2']);
    expect((await run.exit).code).toBe(2);
    const bad = cli(['connect', 'ws://127.0.0.1:1/?token=SECRET1', '-H', 'X-Token SECRET2']);
    expect((await bad.exit).code).toBe(2);
    expect(bad.stderr).toContain('--header #1 must look like "Name: value"');
    for (const output of [run.stderr, bad.stderr]) {
      for (const secret of ['SECRET1', 'SECRET2', 'pa55word']) expect(output).not.toContain(secret);
    }
  });
});
