/** What the benches share: their database server connection, the load average, and RESULTS.md sections. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { openDatabase } from '../src/db/data-source';

/** The 1/5/15-minute load averages as "a / b / c" (the machine is shared: rates mean little without them). */
export function loadAverage(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ');
}

/** Runs `work` on a connection to `url` (the server's maintenance database), closed afterwards. */
export async function withServer<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** `text` with the body of section `## title` replaced (appended when the section is missing). */
export function replaceSection(text: string, title: string, body: string): string {
  const heading = `## ${title}\n`;
  const start = text.indexOf(heading);
  if (start < 0) return `${text.trimEnd()}\n\n${heading}\n${body}`;
  const next = text.indexOf('\n## ', start + heading.length);
  return `${text.slice(0, start)}${heading}\n${body}${next < 0 ? '' : text.slice(next + 1)}`;
}

/** `text` with `body` added at the end of section `## title`, after the runs already there (a new section when missing). */
export function appendToSection(text: string, title: string, body: string): string {
  const heading = `## ${title}\n`;
  const start = text.indexOf(heading);
  if (start < 0) return `${text.trimEnd()}\n\n${heading}\n${body}`;
  const next = text.indexOf('\n## ', start + heading.length);
  if (next < 0) return `${text.trimEnd()}\n\n${body}`;
  return `${text.slice(0, next).trimEnd()}\n\n${body}${text.slice(next)}`;
}

export interface BenchDatabase {
  url: string;
  dataSource: DataSource;
  /** A temporary folder for the synthetic tree. */
  root: string;
  /** A temporary KFASHION_DATA_DIR. */
  dataDir: string;
}

/** Runs `work` on a fresh database `<prefix>_<pid>` on `server` and two temporary folders, all removed afterwards. */
export async function withBenchDatabase<T>(server: string, prefix: string, work: (bench: BenchDatabase) => Promise<T>): Promise<T> {
  const name = `${prefix}_${process.pid}`;
  await withServer(server, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(server);
  url.pathname = `/${name}`;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-home-`));
  const dataSource = await openDatabase({ url: url.toString() });
  try {
    return await work({ url: url.toString(), dataSource, root, dataDir });
  } finally {
    await dataSource.destroy();
    await withServer(server, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Runs a bench's main; a failure is printed and exits 1. */
export function runBench(main: () => Promise<void>): void {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
