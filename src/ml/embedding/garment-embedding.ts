/**
 * A garment's appearance embedding: the box head's representation of the garment's box (TwoMLPHead's fc7 after its
 * ReLU, or the v2 head's fc after its ReLU), pooled by the detector's MultiScaleRoIAlign exactly as a final box is
 * pooled, L2-normed and stored as int8 with its scale (int8.ts). Both engines compute the representation
 * (AttributeRCNN and OnnxAttributeRCNN, for their detections and for given boxes); this module turns it into the
 * stored form and the wire form: `{ scale, vector }` with the int8 components in base64, which is what
 * `JSON.stringify` writes for an embedding (the model server's answers, `kfashion predict --json`).
 */
import { l2Normalize, quantizeInt8, type Int8Embedding } from './int8';

/** An embedding as JSON carries it: the int8 components as base64. */
export interface EmbeddingJson {
  scale: number;
  vector: string;
}

/** A representation or an embedding's wire form that cannot be used; `field` names where it came from. */
export class InvalidEmbedding extends Error {
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

/** Most dimensions an embedding may have (the stored vector's bound, migration 1764930000000). */
export const MAX_EMBEDDING_DIMENSIONS = 8192;

export class GarmentEmbedding implements Int8Embedding {
  constructor(
    readonly vector: Int8Array,
    readonly scale: number,
  ) {}

  /**
   * The embedding of one representation, or null when it has no direction: after the head's ReLU a box can come out
   * all zeros (an untrained head does that often), and a zero vector is similar to nothing.
   */
  static fromRepresentation(representation: ArrayLike<number>): GarmentEmbedding | null {
    let any = false;
    for (let i = 0; i < representation.length; i++) {
      if (!Number.isFinite(representation[i])) throw new InvalidEmbedding('representation', `component ${i} is ${representation[i]}`);
      if (representation[i] !== 0) any = true;
    }
    if (!any) return null;
    const { vector, scale } = quantizeInt8(l2Normalize(representation));
    return new GarmentEmbedding(vector, scale);
  }

  /** The embeddings of `rows` representations laid out row after row in `representations`. */
  static ofRows(representations: Float32Array, rows: number): (GarmentEmbedding | null)[] {
    if (rows === 0) return [];
    const width = representations.length / rows;
    return Array.from({ length: rows }, (_, i) =>
      GarmentEmbedding.fromRepresentation(representations.subarray(i * width, (i + 1) * width)),
    );
  }

  /** The wire form back (a model server's answer), checked: a positive finite scale, 1..8192 int8 components. */
  static fromJson(json: unknown, field: string): GarmentEmbedding {
    const value = json as Partial<EmbeddingJson> | null;
    if (typeof value !== 'object' || value === null) throw new InvalidEmbedding(field, 'expected { scale, vector }');
    if (typeof value.scale !== 'number' || !(value.scale > 0) || !Number.isFinite(value.scale))
      throw new InvalidEmbedding(`${field}.scale`, `expected a positive number, got ${JSON.stringify(value.scale)}`);
    if (typeof value.vector !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(value.vector))
      throw new InvalidEmbedding(`${field}.vector`, 'expected base64');
    const bytes = Buffer.from(value.vector, 'base64');
    if (bytes.length < 1 || bytes.length > MAX_EMBEDDING_DIMENSIONS)
      throw new InvalidEmbedding(`${field}.vector`, `expected 1 to ${MAX_EMBEDDING_DIMENSIONS} components, got ${bytes.length}`);
    return new GarmentEmbedding(new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length), value.scale);
  }

  /** The int8 components as bytes (what PostgreSQL's bytea and base64 hold). */
  bytes(): Buffer {
    return Buffer.from(this.vector.buffer, this.vector.byteOffset, this.vector.byteLength);
  }

  toJSON(): EmbeddingJson {
    return { scale: this.scale, vector: this.bytes().toString('base64') };
  }
}
