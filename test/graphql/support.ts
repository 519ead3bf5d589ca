/**
 * Helpers for the GraphQL tests: a K-Fashion tree from the three real samples (plus variants),
 * a running API server on a free port, a GraphQL client over real HTTP and a SQL query counter.
 */
import 'reflect-metadata';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataSource } from 'typeorm';
import { createClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { startApiServer, RunningApiServer, ApiServerOptions } from '../../src/graphql/server';
import { createApiToken } from '../../src/db/api-tokens';

import { SAMPLES_DIR, SAMPLE_IDS } from '../support/samples';

export { SAMPLES_DIR, SAMPLE_IDS } from '../support/samples';

export type Json = Record<string, any>;

export function readSample(id: string): Json {
  return JSON.parse(fs.readFileSync(path.join(SAMPLES_DIR, `${id}.json`), 'utf8').replace(/^\uFEFF/, ''));
}

function writeFile(root: string, relative: string, content: string | Buffer): void {
  const file = path.join(root, relative);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
}

/**
 * A temporary tree in the AI Hub layout with the three real samples under Training/, and
 * optional variants (a sample under a new identifier with some labels changed) under a split.
 */
export function makeSampleTree(
  variants: { from: string; id: number; split?: 'Training' | 'Validation'; change?: (json: Json) => void }[] = [],
): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-graphql-'));
  for (const id of SAMPLE_IDS) {
    writeFile(root, `Training/라벨링데이터/로맨틱/${id}.json`, fs.readFileSync(path.join(SAMPLES_DIR, `${id}.json`)));
    writeFile(root, `Training/원천데이터/로맨틱/${id}.jpg`, fs.readFileSync(path.join(SAMPLES_DIR, `${id}.jpg`)));
  }
  for (const variant of variants) {
    const json = readSample(variant.from);
    json['이미지 정보']['이미지 식별자'] = variant.id;
    variant.change?.(json);
    const split = variant.split ?? 'Training';
    writeFile(root, `${split}/라벨링데이터/기타/${variant.id}.json`, JSON.stringify(json));
    writeFile(root, `${split}/원천데이터/기타/${variant.id}.jpg`, fs.readFileSync(path.join(SAMPLES_DIR, `${variant.from}.jpg`)));
  }
  return root;
}

/** Ids (as strings) of the imported images by their external id. */
export async function importedImageIds(dataSource: DataSource): Promise<Record<string, string>> {
  const rows: { id: string; external_id: string }[] = await dataSource.query(`SELECT id::text AS id, external_id FROM images`);
  return Object.fromEntries(rows.map((row) => [row.external_id, row.id]));
}

/** A crafted image row of the first dataset pointing at `imagePath` (relative to the dataset's root); its id. */
export async function insertImageRow(dataSource: DataSource, externalId: string, imagePath: string): Promise<string> {
  const [row] = await dataSource.query(
    `INSERT INTO images (dataset_id, external_id, file_name, image_path, width, height)
     VALUES ((SELECT id FROM datasets LIMIT 1), $1, 'x.jpg', $2, 800, 800) RETURNING id`,
    [externalId, imagePath],
  );
  return String(row.id);
}

export interface GraphQLResult<Data = any> {
  status: number;
  data?: Data;
  errors?: { message: string; extensions?: { code?: string; field?: string } }[];
}

/** What one graphql-ws operation answered (see ApiClient.overWebSocket). */
export interface WsOutcome {
  data?: any;
  errors?: { message: string; extensions?: { code?: string; field?: string } }[];
  closed?: number;
}

export class ApiClient {
  /** `token`: sent as `Authorization: Bearer` with every request (none: anonymous). */
  constructor(
    readonly server: RunningApiServer,
    readonly token?: string,
  ) {}

  /** The same server called with another token (or anonymously). */
  as(token: string | undefined): ApiClient {
    return new ApiClient(this.server, token);
  }

  private authorization(): Record<string, string> {
    return this.token ? { authorization: `Bearer ${this.token}` } : {};
  }

  get origin(): string {
    return `http://127.0.0.1:${this.server.port}`;
  }

  async query<Data = any>(query: string, variables: Record<string, unknown> = {}): Promise<GraphQLResult<Data>> {
    const response = await fetch(`${this.origin}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...this.authorization() },
      body: JSON.stringify({ query, variables }),
    });
    return { status: response.status, ...((await response.json()) as object) };
  }

  /** Data of a query that must succeed. */
  async data<Data = any>(query: string, variables: Record<string, unknown> = {}): Promise<Data> {
    const result = await this.query<Data>(query, variables);
    if (result.errors?.length || result.status !== 200) {
      throw new Error(`GraphQL request failed (${result.status}): ${JSON.stringify(result.errors)}`);
    }
    return result.data!;
  }

  /** A graphql-ws client of the server's /graphql, sending this client's token in connectionParams. */
  webSocket(): WsClient {
    return createClient({
      url: `ws://127.0.0.1:${this.server.port}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: false,
      // Connection failures are reported to the operation (overWebSocket), not logged.
      onNonLazyError: () => {},
      connectionParams: this.authorization(),
    });
  }

  /**
   * One operation over graphql-ws on a fresh connection: its first result (data and errors), the
   * errors of an `error` message, or `closed <code>` when the socket closed instead.
   */
  async overWebSocket(query: string, variables: Record<string, unknown> = {}): Promise<WsOutcome> {
    const client = this.webSocket();
    try {
      return await new Promise<WsOutcome>((resolve) => {
        client.subscribe(
          { query, variables },
          {
            next: (value) => resolve({ data: value.data ?? undefined, errors: value.errors as GraphQLResult['errors'] }),
            error: (error) => resolve(Array.isArray(error) ? { errors: error } : { closed: (error as { code?: number }).code }),
            complete: () => resolve({}),
          },
        );
      });
    } finally {
      await client.dispose();
    }
  }

  get(pathAndQuery: string, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(`${this.origin}${pathAndQuery}`, { headers: { ...this.authorization(), ...headers } });
  }

  /** POST /uploads with the photo as the body; the status and the JSON answer. */
  async upload(bytes: Uint8Array, contentType = 'image/jpeg'): Promise<{ status: number; body: Json }> {
    const response = await fetch(`${this.origin}/uploads`, {
      method: 'POST',
      headers: { 'content-type': contentType, ...this.authorization() },
      body: bytes,
    });
    return { status: response.status, body: (await response.json()) as Json };
  }

  /** Uploads a photo that must be accepted; its upload id. */
  async uploadId(bytes: Uint8Array, contentType = 'image/jpeg'): Promise<string> {
    const { status, body } = await this.upload(bytes, contentType);
    if (status !== 201) throw new Error(`upload refused (${status}): ${JSON.stringify(body)}`);
    return body.uploadId;
  }
}

/** A server on a free port and a client holding a fresh admin token (reads are public unless `publicRead: false`). */
export async function startTestServer(dataSource: DataSource, options: Partial<ApiServerOptions> = {}): Promise<ApiClient> {
  const log = process.env.KF_TEST_SERVER_LOG ? (message: string, error?: unknown) => console.error(message, error) : () => {};
  const server = await startApiServer({ dataSource, port: 0, host: '127.0.0.1', log, publicRead: true, ...options });
  const { token } = await createApiToken(dataSource, { role: 'admin', name: 'test client' });
  return new ApiClient(server, token);
}

/** Counts the SQL statements a DataSource sends (TypeORM's BeforeQuery event). */
export class QueryCounter {
  count = 0;
  /** Text of every statement seen. */
  readonly statements: string[] = [];
  private readonly subscriber = {
    beforeQuery: (event: { query: string }) => {
      this.count++;
      this.statements.push(event.query);
    },
  };

  constructor(private readonly dataSource: DataSource) {
    dataSource.subscribers.push(this.subscriber as never);
  }

  async during<T>(work: () => Promise<T>): Promise<{ result: T; queries: number }> {
    const before = this.count;
    const result = await work();
    return { result, queries: this.count - before };
  }

  detach(): void {
    const index = this.dataSource.subscribers.indexOf(this.subscriber as never);
    if (index >= 0) this.dataSource.subscribers.splice(index, 1);
  }
}
