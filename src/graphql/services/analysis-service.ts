/**
 * analyzeImage's work: a photo (an upload staged by POST /uploads, or a stored image's file) sent to
 * a model server, its detections stored as PREDICTION garments. An uploaded photo is kept, with its
 * image row, only when the analysis succeeds.
 */
import { GraphQLError } from 'graphql';
import type { DataSource } from 'typeorm';
import { garmentsByIds, imageWithRoot, imagesByIds } from '../../db/images';
import { readModelVersion } from '../../db/model-versions';
import { storePredictions, storeUploadWithPredictions } from '../../db/predictions';
import type { GarmentRow, ImageRow } from '../../db/search';
import { toStoredPixels } from '../../images/stored-pixels';
import type { UploadStore } from '../../uploads/upload-store';
import { confinedPath } from '../../util/confined-path';
import { readRegularFile } from '../../util/regular-file';
import { badInput, ErrorCode, notFound } from '../errors';
import { globalId } from '../ids';
import type { ModelServerClient } from './model-server-client';

export type AnalysisSubject = { uploadId: string; fileName: string | null } | { imageId: string };

export interface AnalysisResult {
  image: ImageRow;
  garments: GarmentRow[];
  modelVersionId: number;
}

interface StoredAnalysis {
  imageId: string;
  garmentIds: string[];
  modelVersionId: number;
}

type Log = (message: string, error?: unknown) => void;

export class AnalysisService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly uploads: UploadStore,
    private readonly modelServer: ModelServerClient,
    private readonly log: Log,
  ) {}

  /** Analyses the photo with a model version (default: the active one) and returns what was stored. */
  async analyze(subject: AnalysisSubject, versionId: number | null): Promise<AnalysisResult> {
    const stored =
      'uploadId' in subject
        ? await this.analyzeUpload(subject.uploadId, subject.fileName, versionId)
        : await this.analyzeStoredImage(subject.imageId, versionId);
    const garments = stored.garmentIds.length === 0 ? [] : await garmentsByIds(this.dataSource, stored.garmentIds);
    const [image] = await imagesByIds(this.dataSource, [stored.imageId]);
    return { image, garments, modelVersionId: stored.modelVersionId };
  }

  /** An uploaded photo: analysed first, then kept and recorded with its predictions in one step; a failed analysis keeps nothing. */
  private async analyzeUpload(uploadId: string, fileName: string | null, versionId: number | null): Promise<StoredAnalysis> {
    const upload = await this.uploads.staged(uploadId);
    if (!upload) throw notFound(`upload ${uploadId} (uploads are kept for an hour and analysed once)`);
    let kept: { relativePath: string; created: boolean } | null = null;
    try {
      const prediction = await this.modelServer.predict(await readRegularFile(upload.file), versionId);
      const version = await readModelVersion(this.dataSource, prediction.modelVersion.id);
      kept = await this.uploads.keep(upload);
      const image = { fileName: fileName || kept.relativePath, imagePath: kept.relativePath, width: upload.width, height: upload.height };
      const detections = toStoredPixels(prediction.detections, prediction, upload);
      const stored = await storeUploadWithPredictions(this.dataSource, image, version, detections);
      return { ...stored, modelVersionId: version.id };
    } catch (error) {
      if (kept?.created) await this.uploads.remove(kept.relativePath);
      throw error;
    } finally {
      await this.uploads.discard(uploadId);
    }
  }

  private async analyzeStoredImage(id: string, versionId: number | null): Promise<StoredAnalysis> {
    const row = await imageWithRoot(this.dataSource, id);
    if (!row) throw notFound(`image ${globalId('Image', id)}`);
    if (!row.image_path) throw badInput('imageId', `image ${id} has no file`);
    const prediction = await this.modelServer.predict(await this.readImageFile(row), versionId);
    const version = await readModelVersion(this.dataSource, prediction.modelVersion.id);
    const garmentIds = await storePredictions(this.dataSource, id, version, toStoredPixels(prediction.detections, prediction, row));
    return { imageId: id, garmentIds, modelVersionId: version.id };
  }

  /** The image's file, confined to its dataset's folder (uploads: the uploads folder); the path stays in the server log. */
  private async readImageFile(row: ImageRow & { root_path: string | null; image_path: string | null }): Promise<Buffer> {
    const root = row.root_path ?? this.uploads.dir;
    try {
      const file = await confinedPath(root, row.image_path!);
      if (!file) throw new Error(`${row.image_path} resolves outside ${root}`);
      return await readRegularFile(file);
    } catch (error) {
      this.log(`image ${row.id}: reading its file failed:`, error);
      throw new GraphQLError(`image ${globalId('Image', row.id)}: its file cannot be read`, {
        extensions: { code: ErrorCode.ImageFileMissing },
      });
    }
  }
}
