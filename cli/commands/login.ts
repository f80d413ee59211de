// `tsbuild login [-u USER] [-p PASS | --password-stdin] [SERVER]`, as `docker login`: checks the
// credentials against the registry and saves them in the Docker config (its credential helper
// when one is configured), so docker, skopeo and tsbuild all find them.
import type { Command } from 'commander';
import { ErrorCodes, invalid } from '../../src/errors/index.ts';
import { loadConfig, loginRegistry, resolveStateRoot } from '../../control/index.ts';

export interface LoginFlags {
  username?: string;
  password?: string;
  passwordStdin?: boolean;
}

export interface LoginIo {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export function registerLogin(program: Command): void {
  program
    .command('login')
    .description('log in to a registry (default: Docker Hub); the credentials go where docker login puts them')
    .argument('[server]', 'registry host, e.g. registry.example.com:5000')
    .option('-u, --username <username>', 'username')
    .option('-p, --password <password>', 'password or token (visible to other users: prefer --password-stdin)')
    .option('--password-stdin', 'read the password or token from stdin')
    .action(async (server: string | undefined, flags: LoginFlags, cmd: Command) => {
      const root = resolveStateRoot((cmd.optsWithGlobals() as { root?: string }).root);
      const config = await loadConfig(root);
      await runLoginCommand(server, flags, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }, config.insecureRegistries ?? []);
    });
}

export async function runLoginCommand(server: string | undefined, flags: LoginFlags, io: LoginIo, insecureRegistries: readonly string[] = []): Promise<void> {
  if (flags.password !== undefined && flags.passwordStdin) throw invalid(ErrorCodes.OPTION_INVALID, '--password and --password-stdin are mutually exclusive');
  let username = flags.username;
  let password = flags.password;
  if (flags.passwordStdin) {
    if (!username) throw invalid(ErrorCodes.OPTION_INVALID, 'must provide --username with --password-stdin');
    password = (await readAll(io.stdin)).replace(/\r?\n$/, '');
  } else if (password !== undefined) {
    io.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
  }
  if (username === undefined || password === undefined) {
    if (!io.stdin.isTTY) {
      throw invalid(ErrorCodes.OPTION_INVALID, 'cannot ask for a username and password: stdin is not a terminal', { hint: 'give -u USER and --password-stdin (or -p)' });
    }
    username ??= await prompt(io, 'Username: ', false);
    password ??= await prompt(io, 'Password: ', true);
  }
  const report = await loginRegistry({ server, credentials: { username: username.trim(), password }, insecureRegistries });
  if (!report.helper) {
    io.stderr.write(`WARNING! Your password will be stored unencrypted in ${report.path}.\nConfigure a credential helper to remove this warning. See\nhttps://docs.docker.com/go/credential-store/\n\n`);
  }
  io.stdout.write('Login Succeeded\n');
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    size += b.length;
    // a password or token is short; a file piped in by mistake is not read to its end
    if (size > 64 * 1024) throw invalid(ErrorCodes.OPTION_INVALID, '--password-stdin: more than 64 KiB on stdin; that is not a password');
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads one line from the terminal; `hidden` turns echo off (raw mode) as for a password. */
function prompt(io: LoginIo, question: string, hidden: boolean): Promise<string> {
  const { stdin } = io;
  io.stderr.write(question);
  return new Promise((resolve, reject) => {
    let line = '';
    const wasRaw = stdin.isRaw;
    if (hidden) stdin.setRawMode(true);
    stdin.setEncoding('utf8');
    const finish = (err?: Error) => {
      stdin.off('data', onData);
      if (hidden) {
        stdin.setRawMode(wasRaw);
        io.stderr.write('\n');
      }
      stdin.pause();
      if (err) reject(err);
      else resolve(line);
    };
    const onData = (text: string) => {
      for (const ch of text) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003' || ch === '\u0004') return finish(invalid(ErrorCodes.OPTION_INVALID, 'login cancelled'));
        if (ch === '\u007f' || ch === '\b') line = line.slice(0, -1);
        else line += ch;
      }
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}
