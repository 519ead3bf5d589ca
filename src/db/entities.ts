/**
 * TypeORM entities of the tables read and written row by row through repositories (training runs and
 * model versions in ./training-runs.ts and ./model-version-admin.ts) and of the catalogue (images,
 * garments and what they reference). The schema is owned by the migrations (never `synchronize`).
 * Tables read and written only with set-based SQL have no entity: training_metrics, prediction_jobs,
 * prediction_chunks, import_runs, api_tokens, search_generation, the garment_facet_counts tables and garment_term_bits.
 * Bulk loads (the importer) use COPY / multi-row INSERT.
 */
import { Column, CreateDateColumn, Entity, JoinColumn, ManyToOne, OneToMany, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import { SuperCategory, type Split } from '../kfashion/types';

/** bigint ids come back from pg as strings; keep them as strings end to end (no precision loss). */
const bigintId = { type: 'bigint' as const };

export { SPLITS, type Split } from '../kfashion/types';
export const LABEL_SOURCES = ['annotation', 'prediction'] as const;
export type LabelSource = (typeof LABEL_SOURCES)[number];
export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

@Entity('datasets')
export class Dataset {
  @PrimaryGeneratedColumn() id!: number;
  @Column('text') name!: string;
  @Column('text', { name: 'root_path' }) rootPath!: string;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}

@Entity('vocabulary')
export class VocabularyEntry {
  @PrimaryGeneratedColumn() id!: number;
  @Column('text') kind!: string;
  @Column('text') value!: string;
  @Column('text', { name: 'value_en', nullable: true }) valueEn!: string | null;
  @Column('integer') count!: number;
}

@Entity('images')
export class Image {
  @PrimaryGeneratedColumn(bigintId) id!: string;
  @Column('integer', { name: 'dataset_id', nullable: true }) datasetId!: number | null;
  @ManyToOne(() => Dataset, { nullable: true, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'dataset_id' })
  dataset?: Dataset | null;
  @Column('text', { name: 'external_id', nullable: true }) externalId!: string | null;
  @Column('text', { name: 'file_name' }) fileName!: string;
  /** JPEG path relative to the dataset root (or absolute for uploads without a dataset). */
  @Column('text', { name: 'image_path', nullable: true }) imagePath!: string | null;
  @Column('text', { name: 'annotation_path', nullable: true }) annotationPath!: string | null;
  @Column('integer') width!: number;
  @Column('integer') height!: number;
  @Column('text', { nullable: true }) split!: Split | null;
  @Column('text', { name: 'annotation_hash', nullable: true }) annotationHash!: string | null;
  @Column('timestamptz', { name: 'annotated_at', nullable: true }) annotatedAt!: Date | null;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt!: Date;
  /** Set by markImageReviewed (src/db/garment-edits.ts): read it, never write it here. */
  @Column({ type: 'timestamptz', name: 'reviewed_at', nullable: true, insert: false, update: false }) reviewedAt!: Date | null;
  @Column({ ...bigintId, name: 'reviewed_by', nullable: true, insert: false, update: false }) reviewedBy!: string | null;
  @OneToMany(() => Garment, (garment) => garment.image) garments?: Garment[];
  @OneToMany(() => ImageStyle, (style) => style.image) styles?: ImageStyle[];
}

@Entity('image_styles')
export class ImageStyle {
  @PrimaryColumn({ ...bigintId, name: 'image_id' }) imageId!: string;
  @PrimaryColumn('smallint') position!: number;
  @ManyToOne(() => Image, (image) => image.styles, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'image_id' })
  image?: Image;
  @Column('integer', { name: 'style_id' }) styleId!: number;
  @ManyToOne(() => VocabularyEntry)
  @JoinColumn({ name: 'style_id' })
  style?: VocabularyEntry;
  @Column('integer', { name: 'sub_style_id', nullable: true }) subStyleId!: number | null;
  @ManyToOne(() => VocabularyEntry, { nullable: true })
  @JoinColumn({ name: 'sub_style_id' })
  subStyle?: VocabularyEntry | null;
}

@Entity('model_versions')
export class ModelVersion {
  @PrimaryGeneratedColumn() id!: number;
  @Column('text') name!: string;
  @Column('text') backbone!: string;
  @Column('jsonb') config!: Record<string, unknown>;
  @Column('text', { name: 'weights_path' }) weightsPath!: string;
  @Column('jsonb', { nullable: true }) metrics!: Record<string, unknown> | null;
  @Column('boolean', { name: 'is_active' }) isActive!: boolean;
  @Column('integer', { name: 'training_run_id', nullable: true }) trainingRunId!: number | null;
  /** Super-category of each class (migration ModelServerJobs). */
  @Column('jsonb', { name: 'label_space', nullable: true }) labelSpace!: Record<string, unknown> | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}

@Entity('garments')
export class Garment {
  @PrimaryGeneratedColumn(bigintId) id!: string;
  @Column({ ...bigintId, name: 'image_id' }) imageId!: string;
  @ManyToOne(() => Image, (image) => image.garments, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'image_id' })
  image?: Image;
  @Column('text', { name: 'super_category' }) superCategory!: SuperCategory;
  @Column('smallint', { name: 'slot_index' }) slotIndex!: number;
  @Column('integer', { name: 'category_id', nullable: true }) categoryId!: number | null;
  @ManyToOne(() => VocabularyEntry, { nullable: true })
  @JoinColumn({ name: 'category_id' })
  category?: VocabularyEntry | null;
  @Column('real') x1!: number;
  @Column('real') y1!: number;
  @Column('real') x2!: number;
  @Column('real') y2!: number;
  /** Flattened [x0, y0, x1, y1, ...] in point order. */
  @Column('real', { array: true, nullable: true }) polygon!: number[] | null;
  @Column('text') source!: LabelSource;
  @Column('integer', { name: 'model_version_id', nullable: true }) modelVersionId!: number | null;
  @ManyToOne(() => ModelVersion, { nullable: true, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'model_version_id' })
  modelVersion?: ModelVersion | null;
  @Column('real', { nullable: true }) score!: number | null;
  @Column('integer', { name: 'search_terms', array: true }) searchTerms!: number[];
  /** Copy of the image's split, kept by triggers (migration GarmentSplit): read it, never write it. */
  @Column({ type: 'text', nullable: true, insert: false, update: false }) split!: Split | null;
  /** Kept by src/db/garment-edits.ts (migration GarmentEdits): read them, never write them here. */
  @Column({ type: 'integer', insert: false, update: false }) revision!: number;
  @Column({ type: 'timestamptz', name: 'edited_at', nullable: true, insert: false, update: false }) editedAt!: Date | null;
  @OneToMany(() => GarmentAttribute, (attribute) => attribute.garment) attributes?: GarmentAttribute[];
}

@Entity('garment_attributes')
export class GarmentAttribute {
  @PrimaryColumn({ ...bigintId, name: 'garment_id' }) garmentId!: string;
  @ManyToOne(() => Garment, (garment) => garment.attributes, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'garment_id' })
  garment?: Garment;
  @PrimaryColumn('integer', { name: 'vocabulary_id' }) vocabularyId!: number;
  @ManyToOne(() => VocabularyEntry)
  @JoinColumn({ name: 'vocabulary_id' })
  entry?: VocabularyEntry;
  @Column('real', { nullable: true }) score!: number | null;
}

@Entity('training_runs')
export class TrainingRun {
  @PrimaryGeneratedColumn() id!: number;
  @Column('text') status!: RunStatus;
  @Column('jsonb') params!: Record<string, unknown>;
  @Column('jsonb', { nullable: true }) progress!: Record<string, unknown> | null;
  /** How many images and garments of each kind of label the run learns from, recorded when it starts (LabelCounts of src/ml/data). */
  @Column('jsonb', { name: 'label_counts', nullable: true }) labelCounts!: Record<string, unknown> | null;
  @Column('text', { nullable: true }) error!: string | null;
  @Column('text', { name: 'job_id', nullable: true }) jobId!: string | null;
  @Column('text', { nullable: true }) worker!: string | null;
  @Column('integer', { name: 'model_version_id', nullable: true }) modelVersionId!: number | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column('timestamptz', { name: 'started_at', nullable: true }) startedAt!: Date | null;
  @Column('timestamptz', { name: 'finished_at', nullable: true }) finishedAt!: Date | null;
  /** Lease of the worker running it (migration ModelServerJobs). */
  @Column('timestamptz', { name: 'heartbeat_at', nullable: true }) heartbeatAt!: Date | null;
  @Column('integer') attempt!: number;
  @Column('boolean', { name: 'cancel_requested' }) cancelRequested!: boolean;
  @Column('text') log!: string;
}

export const ENTITIES = [Dataset, VocabularyEntry, Image, ImageStyle, ModelVersion, Garment, GarmentAttribute, TrainingRun];
