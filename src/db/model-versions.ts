/**
 * Stored model versions as the model server and the API read them (no TensorFlow.js here, so the
 * API process can use it without loading the ML stack).
 */
import type { DataSource } from 'typeorm';

export interface ModelVersionRow {
  id: number;
  name: string;
  config: Record<string, unknown>;
  weightsPath: string;
  labelSpace: LabelSpaceJson | null;
}

/** model_versions.label_space: the super-category of each class (index = class label). */
export interface LabelSpaceJson {
  classes: { name: string; superCategory: string }[];
}

export class ModelVersionNotFound extends Error {}

const VERSION_COLUMNS = `id, name, config, weights_path AS "weightsPath", label_space AS "labelSpace"`;

export async function readModelVersion(dataSource: DataSource, id: number): Promise<ModelVersionRow> {
  const rows: ModelVersionRow[] = await dataSource.query(`SELECT ${VERSION_COLUMNS} FROM model_versions WHERE id = $1`, [id]);
  if (rows.length === 0) throw new ModelVersionNotFound(`model version ${id} does not exist`);
  return rows[0];
}

export async function activeModelVersionId(dataSource: DataSource): Promise<number | null> {
  const rows: { id: number }[] = await dataSource.query(`SELECT id FROM model_versions WHERE is_active`);
  return rows.length > 0 ? Number(rows[0].id) : null;
}
