/**
 * Synthetic catalogue for the similarity bench: `garments` garments (two per image) of one model
 * version, each with a 1024-dimension int8 embedding drawn around one of `clusters` random centres
 * (the cluster fixes the category; the colour is drawn independently), written with COPY. The
 * vectors are L2-normed and quantized with the platform's codec (src/ml/embedding/int8.ts).
 */
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { CATEGORY_LABELS_BY_SUPER_CATEGORY, LABELS_BY_KIND } from '../../src/kfashion/vocabulary';
import { SuperCategory } from '../../src/kfashion/types';
import { l2Normalize, quantizeInt8 } from '../../src/ml/embedding/int8';
import { seededRandom } from '../../src/util/random';

export const DIMENSIONS = 1024;

export interface CatalogueShape {
  garments: number;
  clusters: number;
  /** Spread of a garment around its centre, per component, relative to the centre's (1). */
  noise: number;
  seed: number;
}

export interface Catalogue {
  modelVersionId: number;
  categories: string[];
  colors: string[];
}

/** Standard normal numbers from a seeded uniform source (Box–Muller, both outputs used). */
function gaussian(next: () => number): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const value = spare;
      spare = null;
      return value;
    }
    const u = Math.max(next(), 1e-12);
    const v = next();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

async function copyRows(client: Client, statement: string, rows: () => Generator<string>): Promise<void> {
  const source = Readable.from(
    (function* () {
      let chunk = '';
      for (const line of rows()) {
        chunk += line;
        if (chunk.length > 1 << 20) {
          yield chunk;
          chunk = '';
        }
      }
      if (chunk) yield chunk;
    })(),
  );
  await pipeline(source, client.query(copyFrom(statement)));
}

/** Writes the catalogue into an empty, migrated database. */
export async function writeCatalogue(url: string, shape: CatalogueShape, log: (line: string) => void): Promise<Catalogue> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const categoryBySuper = Object.entries(CATEGORY_LABELS_BY_SUPER_CATEGORY) as [SuperCategory, Record<string, string>][];
    const categories = categoryBySuper.flatMap(([, labels]) => Object.keys(labels));
    const superOf = new Map(categoryBySuper.flatMap(([superCategory, labels]) => Object.keys(labels).map((c) => [c, superCategory])));
    const colors = Object.keys(LABELS_BY_KIND.color).slice(0, 10);
    const termId = new Map<string, number>();
    for (const [kind, values] of [
      ['category', categories],
      ['color', colors],
    ] as const) {
      for (const value of values) {
        const { rows } = await client.query(`INSERT INTO vocabulary (kind, value, value_en) VALUES ($1, $2, $3) RETURNING id`, [
          kind,
          value,
          LABELS_BY_KIND[kind][value],
        ]);
        termId.set(`${kind}:${value}`, rows[0].id);
      }
    }
    const {
      rows: [{ id: modelVersionId }],
    } = await client.query(
      `INSERT INTO model_versions (name, backbone, config, weights_path, is_active) VALUES ('bench', 'resnet50', '{}', 'bench', true) RETURNING id`,
    );
    const images = Math.ceil(shape.garments / 2);
    await copyRows(client, `COPY images (id, file_name, width, height, split) FROM STDIN`, function* () {
      for (let id = 1; id <= images; id++) yield `${id}\tbench-${id}.jpg\t800\t800\t${id % 10 === 0 ? 'validation' : 'train'}\n`;
    });
    log(`  ${images} images`);

    const next = seededRandom(shape.seed);
    const normal = gaussian(next);
    const centres = Array.from({ length: shape.clusters }, () => Float32Array.from({ length: DIMENSIONS }, normal));
    const clusterOf = new Uint32Array(shape.garments);
    const colorOf = new Uint8Array(shape.garments);
    for (let i = 0; i < shape.garments; i++) {
      clusterOf[i] = Math.floor(next() * shape.clusters);
      colorOf[i] = Math.floor(next() * colors.length);
    }
    await copyRows(
      client,
      `COPY garments (id, image_id, slot_index, super_category, category_id, x1, y1, x2, y2, source, search_terms) FROM STDIN`,
      function* () {
        for (let i = 0; i < shape.garments; i++) {
          const category = categories[clusterOf[i] % categories.length];
          const terms = `{${termId.get(`category:${category}`)},${termId.get(`color:${colors[colorOf[i]]}`)}}`;
          yield `${i + 1}\t${Math.floor(i / 2) + 1}\t${i % 2}\t${superOf.get(category)}\t${termId.get(`category:${category}`)}\t10\t10\t400\t600\tannotation\t${terms}\n`;
        }
      },
    );
    log(`  ${shape.garments} garments`);

    const started = Date.now();
    await copyRows(client, `COPY garment_embeddings (model_version_id, garment_id, scale, vector) FROM STDIN`, function* () {
      const values = new Float32Array(DIMENSIONS);
      for (let i = 0; i < shape.garments; i++) {
        const centre = centres[clusterOf[i]];
        for (let d = 0; d < DIMENSIONS; d++) values[d] = centre[d] + shape.noise * normal();
        const { vector, scale } = quantizeInt8(l2Normalize(values));
        yield `${modelVersionId}\t${i + 1}\t${scale}\t\\\\x${Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('hex')}\n`;
        if ((i + 1) % 100_000 === 0) log(`  ${i + 1} embeddings (${((Date.now() - started) / 1000).toFixed(0)} s)`);
      }
    });
    await client.query(`SELECT setval('images_id_seq', $1)`, [images]);
    await client.query(`SELECT setval('garments_id_seq', $1)`, [shape.garments]);
    await client.query(`VACUUM ANALYZE`);
    return { modelVersionId, categories, colors };
  } finally {
    await client.end();
  }
}
