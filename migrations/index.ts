/** Every migration, in order. A new migration is a new file here, reviewed like code. */
import { InitialSchema1764201600000 } from './1764201600000-InitialSchema';
import { GarmentSplit1764300000000 } from './1764300000000-GarmentSplit';
import { ModelServerJobs1764400000000 } from './1764400000000-ModelServerJobs';
import { GarmentFacetCounts1764500000000 } from './1764500000000-GarmentFacetCounts';
import { ImageExternalId1764600000000 } from './1764600000000-ImageExternalId';
import { PredictionChunks1764700000000 } from './1764700000000-PredictionChunks';
import { ApiTokens1764750000000 } from './1764750000000-ApiTokens';
import { ImportRunInterrupted1764800000000 } from './1764800000000-ImportRunInterrupted';
import { GarmentTermBits1764870000000 } from './1764870000000-GarmentTermBits';
import { EditorRole1764900000000 } from './1764900000000-EditorRole';
import { GarmentEdits1764910000000 } from './1764910000000-GarmentEdits';
import { ReviewQueue1764920000000 } from './1764920000000-ReviewQueue';
import { GarmentEmbeddings1764930000000 } from './1764930000000-GarmentEmbeddings';
import { EmbeddingJobs1764940000000 } from './1764940000000-EmbeddingJobs';
import { TermBitsDimensions1764950000000 } from './1764950000000-TermBitsDimensions';

export const MIGRATIONS = [
  InitialSchema1764201600000,
  GarmentSplit1764300000000,
  ModelServerJobs1764400000000,
  GarmentFacetCounts1764500000000,
  ImageExternalId1764600000000,
  PredictionChunks1764700000000,
  ApiTokens1764750000000,
  ImportRunInterrupted1764800000000,
  GarmentTermBits1764870000000,
  EditorRole1764900000000,
  GarmentEdits1764910000000,
  ReviewQueue1764920000000,
  GarmentEmbeddings1764930000000,
  EmbeddingJobs1764940000000,
  TermBitsDimensions1764950000000,
];
