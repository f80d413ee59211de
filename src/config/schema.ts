// The config file's shape as a JSON Schema: validated with Ajv (src/config/validate.ts), listed by
// `tsbuild config` and in docs/config.md from the same descriptions, so the three never drift.
// Meaning (sizes, limits) is parsed after validation by the code that owns it (src/limits,
// control/gc-policy.ts); the schema only says which keys exist and their JSON types.

/** One key of a table: its JSON Schema plus what `tsbuild config` prints when the file leaves it out. */
export interface KeySchema {
  type?: string | string[];
  enum?: readonly (string | number | boolean)[];
  items?: { type: string };
  minimum?: number;
  description: string;
  /** The value used when the file has no such key, in words (`tsbuild config` shows it). */
  defaultText: string;
}

export interface TableSchema {
  type: 'object';
  description: string;
  additionalProperties: false;
  properties: Record<string, KeySchema>;
}

const size = (description: string, dflt: string): KeySchema => ({ type: ['string', 'integer'], description, defaultText: dflt });
const whole = (description: string, dflt: string): KeySchema => ({ type: ['integer', 'string'], description, defaultText: dflt });

export const configSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    'registry-mirrors': { type: 'array', items: { type: 'string' }, description: 'mirrors tried, in order, before Docker Hub for docker.io images (as daemon.json)', defaultText: 'none' },
    'insecure-registries': { type: 'array', items: { type: 'string' }, description: 'registries (host or host:port) reached over plain HTTP (loopback always is)', defaultText: 'none' },
    limits: {
      type: 'object',
      description: "defaults of tsbuild build's resource limits for every RUN; a flag overrides its key",
      additionalProperties: false,
      properties: {
        memory: size('memory of each RUN, e.g. "2g"', 'unlimited'),
        'memory-swap': size('memory plus swap of each RUN; -1: unlimited swap', 'twice memory'),
        cpus: { type: ['number', 'string'], description: 'CPUs each RUN may use, e.g. 1.5', defaultText: 'all' },
        'cpu-quota': whole('CFS quota of each RUN, in microseconds per period', 'none'),
        'cpu-period': whole('CFS period, in microseconds', '100000'),
        'cpu-shares': whole('relative CPU weight of each RUN', '1024'),
        'pids-limit': whole('most processes and threads in each RUN (-1: unlimited)', 'unlimited'),
        'shm-size': size('size of /dev/shm in each RUN', '64m'),
        ulimits: { type: 'array', items: { type: 'string' }, description: 'rlimits of each RUN, e.g. ["nofile=1024:2048"]', defaultText: "the runtime's" },
      },
    },
    gc: {
      type: 'object',
      description: "the cache's garbage collection after each build (docs/gc.md)",
      additionalProperties: false,
      properties: {
        'keep-storage': size('bytes the state root may hold after a build, e.g. "20GB"', '10% of the filesystem, at most 20 GiB'),
        enabled: { type: 'boolean', description: 'false: no collection after builds (tsbuild prune still works)', defaultText: 'true' },
      },
    },
    build: {
      type: 'object',
      description: 'defaults of tsbuild build; a flag overrides its key',
      additionalProperties: false,
      properties: {
        network: { type: 'string', enum: ['default', 'sandbox', 'none', 'host'], description: 'network of RUN steps without their own --network (host still needs --allow network.host)', defaultText: 'default' },
        'max-parallelism': { type: 'integer', minimum: 1, description: 'most steps run at once', defaultText: 'unbounded (CPU-bound work: one per CPU)' },
        runtime: { type: 'string', enum: ['auto', 'crun', 'runc'], description: 'the OCI runtime RUN steps start with (docs/runtime.md)', defaultText: 'auto: crun where installed (runc for steps whose limits are read after exit), else runc' },
      },
    },
  },
} as const satisfies { type: 'object'; additionalProperties: false; properties: Record<string, TableSchema | KeySchema> };

export type TableName = keyof typeof configSchema.properties;
