/**
 * Garment embeddings (migration 1764930000000): one int8 vector with its scale per (model version, garment), written
 * in bulk by whoever computed them (a prediction page or analyzeImage with the garments they store, an embedGarments
 * chunk for stored garments), read by garment. The change log the vector index follows (seq, removals, NOTIFY) is
 * kept by the table's triggers; its reader is embedding-changes.ts.
 */
import type { DataSource, EntityManager } from 'typeorm';

/** One garment's embedding as stored. */
export interface GarmentEmbeddingRow {
  garmentId: string;
  scale: number;
  vector: Int8Array;
}

/** Rows per INSERT: each row is a few hundred bytes to a few kB, so a statement stays well under a megabyte or so. */
const WRITE_BATCH = 500;

function bytesOf(vector: Int8Array): Buffer {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
}

/**
 * Stores (or replaces) the embeddings of garments under a model version, in batches; a garment deleted meanwhile is
 * skipped. Run it inside the transaction that writes the garments (pass its manager) so both commit together.
 * Returns how many rows were written.
 */
export async function storeGarmentEmbeddings(
  db: DataSource | EntityManager,
  modelVersionId: number,
  rows: readonly GarmentEmbeddingRow[],
): Promise<number> {
  let written = 0;
  for (let start = 0; start < rows.length; start += WRITE_BATCH) {
    const batch = rows.slice(start, start + WRITE_BATCH);
    const result: unknown[] = await db.query(
      `INSERT INTO garment_embeddings (model_version_id, garment_id, scale, vector)
       SELECT $1, e.garment_id, e.scale, e.vector
         FROM unnest($2::bigint[], $3::real[], $4::bytea[]) AS e(garment_id, scale, vector)
         JOIN garments g ON g.id = e.garment_id
       ON CONFLICT (model_version_id, garment_id) DO UPDATE SET scale = EXCLUDED.scale, vector = EXCLUDED.vector, created_at = now()
       RETURNING garment_id`,
      [modelVersionId, batch.map((r) => r.garmentId), batch.map((r) => r.scale), batch.map((r) => bytesOf(r.vector))],
    );
    written += result.length;
  }
  return written;
}

/** The stored embeddings of these garments under a model version, by garment id (garments without one are absent). */
export async function readGarmentEmbeddings(
  db: DataSource | EntityManager,
  modelVersionId: number,
  garmentIds: readonly string[],
): Promise<Map<string, GarmentEmbeddingRow>> {
  const rows: { garment_id: string; scale: number; vector: Buffer }[] = await db.query(
    `SELECT garment_id::text AS garment_id, scale, vector FROM garment_embeddings WHERE model_version_id = $1 AND garment_id = ANY($2::bigint[])`,
    [modelVersionId, garmentIds],
  );
  return new Map(
    rows.map((r) => [
      r.garment_id,
      { garmentId: r.garment_id, scale: Number(r.scale), vector: new Int8Array(r.vector.buffer, r.vector.byteOffset, r.vector.length) },
    ]),
  );
}

/** Which of these garments have an embedding under each model version asked, as "versionId:garmentId" keys (for a DataLoader). */
export async function embeddedGarmentKeys(
  db: DataSource | EntityManager,
  pairs: readonly { modelVersionId: number; garmentId: string }[],
): Promise<Set<string>> {
  const rows: { key: string }[] = await db.query(
    `SELECT e.model_version_id || ':' || e.garment_id AS key
       FROM unnest($1::int[], $2::bigint[]) AS p(model_version_id, garment_id)
       JOIN garment_embeddings e ON e.model_version_id = p.model_version_id AND e.garment_id = p.garment_id`,
    [pairs.map((p) => p.modelVersionId), pairs.map((p) => p.garmentId)],
  );
  return new Set(rows.map((r) => r.key));
}

/** A stored garment's box, to embed it (boxes in the images row's pixels). */
export interface GarmentBox {
  garmentId: string;
  imageId: string;
  box: [number, number, number, number];
}

/** Every garment of these images with a box of positive size, by image then garment id. */
export async function garmentBoxesOfImages(db: DataSource | EntityManager, imageIds: readonly string[]): Promise<GarmentBox[]> {
  const rows: { id: string; image_id: string; x1: number; y1: number; x2: number; y2: number }[] = await db.query(
    `SELECT id::text AS id, image_id::text AS image_id, x1, y1, x2, y2 FROM garments
      WHERE image_id = ANY($1::bigint[]) AND x2 > x1 AND y2 > y1 ORDER BY image_id, id`,
    [imageIds],
  );
  return rows.map((r) => ({ garmentId: r.id, imageId: r.image_id, box: [r.x1, r.y1, r.x2, r.y2] }));
}

/**
 * Stores a page of embeddings and runs `record` (a chunk's progress) in the same transaction, as storePredictionPage
 * does for predictions: a chunk resumed after a crash neither skips nor re-counts an image. Returns `record`'s result.
 */
export async function storeEmbeddingPage<T>(
  dataSource: DataSource,
  modelVersionId: number,
  rows: readonly GarmentEmbeddingRow[],
  record: (manager: EntityManager) => Promise<T>,
): Promise<T> {
  return dataSource.transaction(async (manager) => {
    await storeGarmentEmbeddings(manager, modelVersionId, rows);
    return record(manager);
  });
}
