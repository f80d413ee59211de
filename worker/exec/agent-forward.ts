// RUN --mount=type=ssh: the command reaches the user's SSH agent through a Unix socket that
// tsbuild serves for that one run. The agent's own socket is never mounted: like BuildKit's
// read-only agent (session/sshforward/sshprovider), the forward answers only "list identities"
// and "sign", so a step can use the keys but cannot add, remove or lock them, unlock the agent,
// or call extensions; everything else gets SSH_AGENT_FAILURE. The protocol is
// draft-ietf-sshm-ssh-agent: each message is a uint32 length, then a type byte and its body.
import { once } from 'node:events';
import { chmod, chown } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';

/** OpenSSH's agent refuses longer messages (AGENT_MAX_LEN); so do we, so a step cannot make us buffer more. */
export const MAX_AGENT_MESSAGE = 256 * 1024;
export const AgentMessages = { FAILURE: 5, REQUEST_IDENTITIES: 11, IDENTITIES_ANSWER: 12, SIGN_REQUEST: 13, SIGN_RESPONSE: 14 } as const;
const allowed: ReadonlySet<number> = new Set([AgentMessages.REQUEST_IDENTITIES, AgentMessages.SIGN_REQUEST]);
// a build step has no use for more at once; the limit keeps a runaway loop from piling up agent connections
const maxConnections = 32;

export interface AgentForwardOptions {
  /** The agent's socket on the host (`--ssh default` uses $SSH_AUTH_SOCK). */
  agent: string;
  /** Where to listen: a path in a private directory, bind-mounted into the container. */
  socket: string;
  mode: number;
  uid: number;
  gid: number;
}

/**
 * Listens on `opts.socket` (owned by uid:gid with `mode`) and forwards allowed messages to the
 * agent, one connection to the agent per connection to the socket. Resolves to a function that
 * closes every connection and removes the socket; it never rejects.
 */
export async function forwardAgent(opts: AgentForwardOptions): Promise<() => Promise<void>> {
  const conns = new Set<Socket>();
  const server = createServer((client) => {
    conns.add(client);
    client.on('close', () => conns.delete(client));
    void serve(client, opts.agent);
  });
  server.maxConnections = maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.socket, () => {
      server.off('error', reject);
      // a failing accept (out of file descriptors) must not crash the build: the step's client sees a refused connection
      server.on('error', () => undefined);
      resolve();
    });
  });
  const close = async () => {
    for (const c of conns) c.destroy();
    // closing a Unix socket server unlinks its socket file
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  try {
    await chown(opts.socket, opts.uid, opts.gid);
    await chmod(opts.socket, opts.mode);
  } catch (e) {
    await close();
    throw e;
  }
  return close;
}

/** Answers one client, message by message, in order; any protocol error ends this connection only. */
async function serve(client: Socket, agentPath: string): Promise<void> {
  client.on('error', () => undefined);
  let agent: { socket: Socket; replies: AsyncIterator<Buffer> } | undefined;
  try {
    for await (const msg of readMessages(client)) {
      let reply: Buffer = Buffer.from([AgentMessages.FAILURE]);
      if (allowed.has(msg[0])) {
        agent ??= await openAgent(agentPath);
        if (agent) {
          agent.socket.write(frame(msg));
          const r = await agent.replies.next();
          if (r.done) break;
          reply = r.value;
        }
      }
      if (client.destroyed) break;
      if (!client.write(frame(reply))) await Promise.race([once(client, 'drain'), once(client, 'close')]);
    }
  } catch {
    // an oversized or cut-off message, or a peer that went away: drop the connection
  } finally {
    client.destroy();
    agent?.socket.destroy();
  }
}

/** A connection to the agent, or undefined when it cannot be reached (the client then gets FAILURE). */
async function openAgent(path: string): Promise<{ socket: Socket; replies: AsyncIterator<Buffer> } | undefined> {
  const socket = connect(path);
  socket.on('error', () => undefined);
  try {
    await once(socket, 'connect');
  } catch {
    socket.destroy();
    return undefined;
  }
  return { socket, replies: readMessages(socket)[Symbol.asyncIterator]() };
}

/** The messages of a stream, each without its length prefix; throws on an empty or oversized one. */
export async function* readMessages(stream: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let buf: Buffer = Buffer.alloc(0);
  for await (const chunk of stream) {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    while (buf.length >= 4) {
      const len = buf.readUInt32BE(0);
      if (len === 0 || len > MAX_AGENT_MESSAGE) throw new Error(`agent message of ${len} bytes`);
      if (buf.length < 4 + len) break;
      yield buf.subarray(4, 4 + len);
      buf = buf.subarray(4 + len);
    }
  }
}

export function frame(msg: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(msg.length);
  return Buffer.concat([head, msg]);
}
