/**
 * The search filters of GraphQL's `where` inputs: the same conditions with the global ids of
 * model versions and datasets replaced by their database keys. A malformed or wrong-type id is the
 * caller's mistake, named by its path (`where.or[1].modelVersionId`) as the search filter names others.
 */
import type { GarmentFilter, ImageFilter } from '../db/search-filter';
import { serialKeyOf } from './ids';
import type * as T from './types';

// Only the keys the client gave are set: the filter is stored as given (prediction_jobs.filter).

export function garmentFilter(where: T.GarmentWhere, field = 'where'): GarmentFilter {
  const { modelVersionId, and, or, not, ...conditions } = where;
  return {
    ...conditions,
    ...(modelVersionId == null ? {} : { modelVersionId: serialKeyOf(`${field}.modelVersionId`, modelVersionId, 'ModelVersion') }),
    ...(and ? { and: and.map((sub, i) => garmentFilter(sub, `${field}.and[${i}]`)) } : {}),
    ...(or ? { or: or.map((sub, i) => garmentFilter(sub, `${field}.or[${i}]`)) } : {}),
    ...(not ? { not: garmentFilter(not, `${field}.not`) } : {}),
  };
}

export function imageFilter(where: T.ImageWhere | null, field = 'where'): ImageFilter | null {
  if (!where) return null;
  const { datasetId, garments, ...conditions } = where;
  return {
    ...conditions,
    ...(datasetId == null ? {} : { datasetId: serialKeyOf(`${field}.datasetId`, datasetId, 'Dataset') }),
    ...(garments ? { garments: garmentFilter(garments, `${field}.garments`) } : {}),
  };
}
