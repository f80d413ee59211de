// A pool of ready `sandbox` network namespaces, as BuildKit pools its CNI namespaces: setting one
// up costs pasta 0.1-0.25 s here, far more than the ~25 ms runc needs to start a container, so a
// step takes a ready one and gives it back when its container is gone. Its processes are dead then
// (the pid namespace ends with the container), and a default step has no CAP_NET_ADMIN, so the
// namespace is as it was; a privileged step's namespace is destroyed instead of reused.
//
//   const pool = createNetworkPool({ prefix, tmpDir });
//   pool.warm(2);                        // start two in the background (steps that start at once)
//   const lease = await pool.acquire();  // lease.path → spec linux.namespaces[{type:'network', path}]
//   await lease.release({ reuse: true });
//   await pool.close();                  // destroys every namespace, idle or not
import { createPastaSandbox, type NetworkSandbox } from './pasta.ts';
import { newNetnsName } from './netns.ts';

export interface NetworkLease {
  path: string;
  /** Gives the namespace back (reuse) or destroys it. Idempotent. */
  release(opts: { reuse: boolean }): Promise<void>;
}

export interface NetworkPool {
  /** A ready namespace: an idle one, the one being warmed, or a new one. */
  acquire(): Promise<NetworkLease>;
  /**
   * Starts setting up namespaces in the background until `count` (default 1, at most maxIdle) are
   * idle or coming, so that many steps starting at once each find one ready; errors wait for `acquire`.
   */
  warm(count?: number): void;
  /**
   * A build's sandboxed steps are done: its idle namespaces are destroyed now, in the background,
   * so that the close after the build's export need not wait for pasta's end and the namespace's
   * removal. Only when none is leased or warming (another build on the engine may be using the
   * pool; it then keeps them for reuse). Later `acquire` calls make new ones. Never throws.
   */
  drain(): void;
  /** Destroys every namespace of the pool and waits for those `drain` destroys; later `acquire` calls fail. */
  close(): Promise<void>;
}

export interface NetworkPoolOptions {
  /** Namespace name prefix (netnsPrefix of the state root). */
  prefix: string;
  /** Where pasta's pid file goes while it starts. */
  tmpDir: string;
  /** Idle namespaces kept for reuse; more are destroyed on release. Default 4 (parallel steps). */
  maxIdle?: number;
  /** How a namespace is made; default pasta. */
  create?: (name: string) => Promise<NetworkSandbox>;
}

export function createNetworkPool(opts: NetworkPoolOptions): NetworkPool {
  const maxIdle = opts.maxIdle ?? 4;
  const create = opts.create ?? ((name: string) => createPastaSandbox(name, opts.tmpDir));
  const idle: NetworkSandbox[] = [];
  const live = new Set<NetworkSandbox>();
  // oldest first: acquire takes the one most likely ready
  const warming: Promise<NetworkSandbox>[] = [];
  let closed = false;
  // drain's destroys, waited for by close (a failure is reported there)
  const destroying = new Set<Promise<void>>();

  const make = async () => {
    const sb = await create(newNetnsName(opts.prefix));
    if (closed) {
      await sb.destroy();
      throw new Error('network pool closed');
    }
    live.add(sb);
    return sb;
  };
  const lease = (sb: NetworkSandbox): NetworkLease => {
    let released = false;
    return {
      path: sb.path,
      async release({ reuse }) {
        if (released) return;
        released = true;
        if (reuse && !closed && idle.length < maxIdle) idle.push(sb);
        else {
          live.delete(sb);
          await sb.destroy();
        }
      },
    };
  };

  return {
    async acquire() {
      if (closed) throw new Error('network pool closed');
      const ready = idle.pop();
      if (ready) return lease(ready);
      const coming = warming.shift();
      if (coming) return lease(await coming);
      return lease(await make());
    },
    warm(count = 1) {
      const wanted = Math.min(count, maxIdle);
      while (!closed && idle.length + warming.length < wanted) {
        const p = make();
        // a failure is reported by the acquire that takes this promise, not here
        p.catch(() => undefined);
        warming.push(p);
      }
    },
    drain() {
      if (closed || warming.length > 0 || live.size > idle.length) return;
      for (const sb of idle.splice(0)) {
        live.delete(sb);
        const p = sb.destroy();
        destroying.add(p);
        p.catch(() => undefined).finally(() => destroying.delete(p));
      }
    },
    async close() {
      closed = true;
      const pending = warming.splice(0);
      await Promise.all(pending.map((p) => p.then((sb) => { live.add(sb); }, () => undefined)));
      idle.length = 0;
      await Promise.all([...[...live].map((sb) => sb.destroy()), ...destroying]);
      live.clear();
    },
  };
}
