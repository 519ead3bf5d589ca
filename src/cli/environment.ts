/**
 * Every environment variable kfashion reads, declared once: what it means, what it accepts, its default.
 * The process edge (the commands of src/cli) reads the environment once with readEnvironment, which
 * checks every variable that is set, and hands typed values down; no module below src/cli reads
 * process.env. README's Configuration table lists exactly these variables (test/cli/environment.test.ts).
 */
import { setThreadpoolSize } from '../images/decode-concurrency';

export interface VariableSpec<T> {
  /** What it sets, as the README's table says it. */
  meaning: string;
  /** What it accepts, as errors and the table say it. */
  accepted: string;
  /** The default, in words. */
  fallback: string;
  /** The value of the text, or undefined when the text is not acceptable. */
  parse(text: string): T | undefined;
}

/** An environment variable set to a value it does not accept. */
export class InvalidEnvironmentVariable extends Error {
  constructor(
    readonly variable: string,
    accepted: string,
    text: string,
  ) {
    super(`${variable}: expected ${accepted}, got "${text}"`);
  }
}

const text = (value: string) => value;

function integerIn(min: number, max: number) {
  return (value: string) => (/^\d+$/.test(value) && Number(value) >= min && Number(value) <= max ? Number(value) : undefined);
}

function numberIn(min: number, max: number) {
  return (value: string) => {
    const n = Number(value);
    return value.trim() !== '' && Number.isFinite(n) && n >= min && n <= max ? n : undefined;
  };
}

function urlOf(protocols: string[]) {
  return (value: string) => {
    try {
      return protocols.includes(new URL(value).protocol) ? value : undefined;
    } catch {
      return undefined;
    }
  };
}

function oneOf<T extends string>(values: readonly T[]) {
  return (value: string) => ((values as readonly string[]).includes(value) ? (value as T) : undefined);
}

const ON = ['1', 'true', 'yes', 'on'];
const OFF = ['0', 'false', 'no', 'off'];
const onOff = (value: string) => (ON.includes(value.toLowerCase()) ? true : OFF.includes(value.toLowerCase()) ? false : undefined);

const PORT = { accepted: 'a port number from 0 to 65535 (0: any free port)', parse: integerIn(0, 65535) };
const FLAG = { accepted: 'on or off (1/true/yes/on, 0/false/no/off)', parse: onOff };
const HTTP_URL = { accepted: 'an http:// or https:// URL', parse: urlOf(['http:', 'https:']) };

export const ENVIRONMENT = {
  DATABASE_URL: {
    meaning: 'PostgreSQL connection string',
    accepted: 'a postgres:// or postgresql:// URL',
    parse: urlOf(['postgres:', 'postgresql:']),
    fallback: 'unset: the embedded PostgreSQL server of `KFASHION_DATA_DIR`',
  },
  KFASHION_DATA_DIR: {
    meaning: 'folder for the embedded database, checkpoints, model weights and uploads',
    accepted: 'a folder',
    parse: text,
    fallback: '`./.kfashion`',
  },
  KFASHION_WEIGHTS_DIR: {
    meaning: 'the only folder `startTraining(initWeights:)` may name a file in; where `weights fetch` writes',
    accepted: 'a folder',
    parse: text,
    fallback: '`KFASHION_DATA_DIR/weights`',
  },
  KFASHION_WEIGHTS_BASE_URL: {
    meaning: 'where `kfashion weights fetch` downloads from (a mirror, or a loopback server in tests)',
    ...HTTP_URL,
    fallback: '`https://download.pytorch.org/models/`',
  },
  KFASHION_TF_BACKEND: {
    meaning: 'TensorFlow.js backend',
    accepted: 'tensorflow, wasm or cpu',
    parse: oneOf(['tensorflow', 'wasm', 'cpu'] as const),
    fallback: 'best available: CUDA (`@tensorflow/tfjs-node-gpu`), then `@tensorflow/tfjs-node`, wasm, cpu',
  },
  KFASHION_ENGINE: {
    meaning: 'inference engine of `model-server`, `predict` and `eval`',
    accepted: 'tfjs or onnx',
    parse: oneOf(['tfjs', 'onnx'] as const),
    fallback: '`tfjs`',
  },
  KFASHION_ONNX_THREADS: {
    meaning: "ONNX Runtime's intra-op threads",
    accepted: 'a whole number from 1 to 1024',
    parse: integerIn(1, 1024),
    fallback: 'one per physical core',
  },
  PORT: {
    meaning: 'port of `kfashion serve` (API, images, web console); of `model-server` when `MODEL_SERVER_PORT` is unset',
    ...PORT,
    fallback: '`4000` (`serve`)',
  },
  PUBLIC_URL: {
    meaning: 'prefix of the image URLs in API responses (e.g. `https://api.example.com`)',
    ...HTTP_URL,
    fallback: 'unset: relative URLs',
  },
  KFASHION_PUBLIC_READ: {
    meaning: 'anonymous callers may read (queries, images, subscriptions); writes always need a token',
    ...FLAG,
    fallback: 'on with the embedded database (`DATABASE_URL` unset), off otherwise and in the docker image',
  },
  KFASHION_INTROSPECTION: {
    meaning: 'GraphQL introspection (and "Did you mean" hints)',
    ...FLAG,
    fallback: 'on unless `NODE_ENV=production`',
  },
  KFASHION_EXPLORER: { meaning: 'the query page at `GET /graphql`', ...FLAG, fallback: 'on unless `NODE_ENV=production`' },
  NODE_ENV: {
    meaning: '`production` turns introspection and the query page off by default',
    accepted: 'any text (only `production` counts)',
    parse: text,
    fallback: 'unset',
  },
  KFASHION_STATEMENT_TIMEOUT_MS: {
    meaning: "the API's PostgreSQL statement timeout",
    accepted: 'whole milliseconds from 1 to 600000',
    parse: integerIn(1, 600_000),
    fallback: '`10000`',
  },
  KFASHION_PREDICTION_CHUNK: {
    meaning: 'images per chunk of a `predictImages` or `embedGarments` job when the call gives no `chunkSize`',
    accepted: 'a whole number from 1 to 100000',
    parse: integerIn(1, 100_000),
    fallback: '`256`',
  },
  KFASHION_LEASE_TIMEOUT: {
    meaning: 'seconds a leased run or chunk may go without a heartbeat before a watchdog (model servers, the API) hands it back',
    accepted: 'seconds, a number from 1 to 86400',
    parse: numberIn(1, 86_400),
    fallback: '`120`',
  },
  MODEL_SERVER_URL: {
    meaning: 'where the API sends photos to analyse and asks about training memory',
    ...HTTP_URL,
    fallback: 'unset: analysis unavailable (`serve --model-server` and `demo` set it to their own model server)',
  },
  MODEL_SERVER_TOKEN: {
    meaning: 'shared secret between the API and model servers (required when a model server binds beyond loopback)',
    accepted: 'any text',
    parse: text,
    fallback: 'unset (`serve --model-server`: a random one)',
  },
  MODEL_SERVER_CONNECT_TIMEOUT_MS: {
    meaning: "the API's connect timeout towards a model server",
    accepted: 'whole milliseconds from 1 to 60000',
    parse: integerIn(1, 60_000),
    fallback: '`5000`',
  },
  MODEL_SERVER_TIMEOUT_MS: {
    meaning: "the API's whole-call timeout towards a model server",
    accepted: 'whole milliseconds from 1 to 600000',
    parse: integerIn(1, 600_000),
    fallback: '`60000`',
  },
  MODEL_SERVER_HOST: { meaning: 'address `model-server` binds', accepted: 'a host name or address', parse: text, fallback: '`127.0.0.1`' },
  MODEL_SERVER_PORT: { meaning: 'port of `model-server`', ...PORT, fallback: '`PORT`, else `4100`' },
  KFASHION_MAX_BATCH: {
    meaning: 'images per forward pass of a model server (concurrent requests batched)',
    accepted: 'a whole number from 1 to 256',
    parse: integerIn(1, 256),
    fallback: '`8`',
  },
  KFASHION_PARENT_PID: {
    meaning: 'set by `serve --model-server` for its child, which stops when that process is gone',
    accepted: 'a process id',
    parse: integerIn(1, 2 ** 31 - 1),
    fallback: 'unset',
  },
  UV_THREADPOOL_SIZE: {
    meaning: "libuv's thread pool (Node reads it itself); each process decodes at most half as many images at once",
    accepted: 'a whole number from 1 to 1024',
    parse: integerIn(1, 1024),
    fallback: '`4`',
  },
} satisfies Record<string, VariableSpec<unknown>>;

export type VariableName = keyof typeof ENVIRONMENT;

/** The environment's values, typed and checked; a variable that is unset (or empty) is absent. */
export type Environment = { readonly [K in VariableName]?: NonNullable<ReturnType<(typeof ENVIRONMENT)[K]['parse']>> };

/** Reads and checks every variable of ENVIRONMENT in `raw`; the first unacceptable one is refused by name. */
export function readEnvironment(raw: Readonly<Record<string, string | undefined>>): Environment {
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(ENVIRONMENT) as [VariableName, VariableSpec<unknown>][]) {
    const given = raw[name];
    if (given === undefined || given === '') continue;
    const value = spec.parse(given);
    if (value === undefined) throw new InvalidEnvironmentVariable(name, spec.accepted, given);
    values[name] = value;
  }
  return values;
}

let commandEnvironment: Environment | null = null;

/** The environment as the running command read it when it started (configureProcess), or now when no command did. */
export function environment(): Environment {
  commandEnvironment ??= readEnvironment(process.env);
  return commandEnvironment;
}

/**
 * Before a command runs (main's preAction hook): reads and checks the environment once for it, and sets
 * what the whole process shares from it (the image decoders' share of libuv's threads).
 */
export function configureProcess(): void {
  commandEnvironment = readEnvironment(process.env);
  if (commandEnvironment.UV_THREADPOOL_SIZE !== undefined) setThreadpoolSize(commandEnvironment.UV_THREADPOOL_SIZE);
}
