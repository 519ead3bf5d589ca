/** Datasets as the API shows them: name and import time, never their folder on the server. */
import { In, type DataSource } from 'typeorm';
import { Dataset } from './entities';

export type DatasetSummary = Pick<Dataset, 'id' | 'name' | 'createdAt'>;

export async function datasetsByIds(dataSource: DataSource, ids: readonly number[]): Promise<DatasetSummary[]> {
  return dataSource.getRepository(Dataset).find({ select: ['id', 'name', 'createdAt'], where: { id: In([...ids]) } });
}
