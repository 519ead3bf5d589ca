/**
 * Bulk row writers. PostgreSQL gets COPY (binary format, copy-binary.ts) through the
 * QueryRunner's own pg client, so it runs inside the batch's transaction. The row-by-row writer is the naive reference the import benchmark compares against.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import type { PoolClient } from 'pg';
import type { QueryRunner } from 'typeorm';
import { binaryCopyPayload } from './copy-binary';

export type CellValue = string | number | null | number[] | Float64Array;

export interface TableSpec {
  table: string;
  /** Column name → SQL type (COPY's binary encoding and the row-by-row writer's casts). */
  columns: Readonly<Record<string, string>>;
}

export type LoaderKind = 'copy' | 'rowByRow';

export interface BulkWriter {
  insert(queryRunner: QueryRunner, spec: TableSpec, rows: CellValue[][]): Promise<void>;
}

/** PostgreSQL array literal of numbers, e.g. {1,2.5}. */
function numberArrayLiteral(values: ArrayLike<number>): string {
  return `{${Array.from(values).join(',')}}`;
}

class CopyWriter implements BulkWriter {
  async insert(queryRunner: QueryRunner, spec: TableSpec, rows: CellValue[][]): Promise<void> {
    if (rows.length === 0) return;
    const client = (await queryRunner.connect()) as PoolClient;
    const sql = `COPY ${spec.table} (${Object.keys(spec.columns).join(', ')}) FROM STDIN (FORMAT binary)`;
    await pipeline(Readable.from(binaryCopyPayload(spec.columns, rows)), client.query(copyFrom(sql)));
  }
}

class RowByRowWriter implements BulkWriter {
  async insert(queryRunner: QueryRunner, spec: TableSpec, rows: CellValue[][]): Promise<void> {
    const names = Object.keys(spec.columns);
    const placeholders = names.map((name, i) => `$${i + 1}::${spec.columns[name]}`).join(', ');
    const sql = `INSERT INTO ${spec.table} (${names.join(', ')}) VALUES (${placeholders})`;
    for (const row of rows) {
      await queryRunner.query(
        sql,
        row.map((value) => (Array.isArray(value) || value instanceof Float64Array ? numberArrayLiteral(value) : value)),
      );
    }
  }
}

export function createBulkWriter(kind: LoaderKind): BulkWriter {
  switch (kind) {
    case 'copy':
      return new CopyWriter();
    case 'rowByRow':
      return new RowByRowWriter();
  }
}
