/**
 * Model versions as the API lists, shows and activates them (the model server's reader of weights
 * and label spaces is ./model-versions.ts).
 */
import { In, LessThan, Not, type DataSource } from 'typeorm';
import { ModelVersion } from './entities';
import { pageOfRows, type NewestFirstPage, type RowPage } from './newest-first';

const SHOWN_FIELDS = ['id', 'name', 'backbone', 'config', 'metrics', 'isActive', 'createdAt', 'trainingRunId'] as const;

export type ModelVersionSummary = Pick<ModelVersion, (typeof SHOWN_FIELDS)[number]>;

/** A page of versions newest first. */
export async function listModelVersions(dataSource: DataSource, page: NewestFirstPage): Promise<RowPage<ModelVersionSummary>> {
  const rows = await dataSource.getRepository(ModelVersion).find({
    select: [...SHOWN_FIELDS],
    where: page.beforeId === null ? {} : { id: LessThan(page.beforeId) },
    order: { id: 'DESC' },
    take: page.limit + 1,
  });
  return pageOfRows(rows, page.limit);
}

export async function countModelVersions(dataSource: DataSource): Promise<number> {
  return dataSource.getRepository(ModelVersion).count();
}

export async function modelVersionsByIds(dataSource: DataSource, ids: readonly number[]): Promise<ModelVersionSummary[]> {
  return dataSource.getRepository(ModelVersion).find({ select: [...SHOWN_FIELDS], where: { id: In([...ids]) } });
}

/**
 * Makes one version the active one (the others inactive) in one transaction, the row locked so two
 * activations cannot both win; null when the version does not exist.
 */
export async function activateModelVersion(dataSource: DataSource, id: number): Promise<ModelVersionSummary | null> {
  return dataSource.transaction(async (manager) => {
    const versions = manager.getRepository(ModelVersion);
    const found = await versions.findOne({ select: ['id'], where: { id }, lock: { mode: 'pessimistic_write' } });
    if (!found) return null;
    await versions.update({ isActive: true, id: Not(id) }, { isActive: false });
    await versions.update({ id }, { isActive: true });
    return versions.findOneOrFail({ select: [...SHOWN_FIELDS], where: { id } });
  });
}
