import { createPostgresTestDatabase, TestDatabase } from '../support/database';
import { Image } from '../../src/db/entities';

const EXPECTED_TABLES = [
  'api_tokens',
  'datasets',
  'garment_attributes',
  'garment_edits',
  'garment_embedding_removals',
  'garment_embeddings',
  'garment_facet_counts',
  'garment_facet_counts_state',
  'garment_term_bits',
  'garments',
  'image_styles',
  'images',
  'import_runs',
  'model_versions',
  'prediction_chunks',
  'prediction_jobs',
  'prediction_runner_ups',
  'review_scores',
  'search_generation',
  'training_metrics',
  'training_runs',
  'vocabulary',
];

async function tables(db: TestDatabase): Promise<string[]> {
  const rows: { table_name: string }[] = await db.dataSource.query(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'migrations' ORDER BY 1`,
  );
  return rows.map((row) => row.table_name);
}

describe.each([['PostgreSQL', createPostgresTestDatabase]])('schema on %s', (_name, create) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await create();
  });
  afterAll(async () => db?.drop());

  it('applies the migrations and creates every table', async () => {
    expect(await tables(db)).toEqual(EXPECTED_TABLES);
  });

  it('rejects a garment with an empty box and reads one back through the entities', async () => {
    const [image] = await db.dataSource.query(
      `INSERT INTO images (external_id, file_name, width, height, split) VALUES ('1', 'a.jpg', 10, 20, 'train') RETURNING id`,
    );
    await expect(
      db.dataSource.query(`INSERT INTO garments (image_id, super_category, x1, y1, x2, y2) VALUES ($1, 'TOP', 5, 5, 5, 9)`, [image.id]),
    ).rejects.toThrow(/garments_box_valid/);
    await db.dataSource.query(
      `INSERT INTO garments (image_id, super_category, x1, y1, x2, y2, polygon, search_terms)
       VALUES ($1, 'TOP', 1, 2, 3, 4, '{1,2,3,4,5,6}', '{7,8}')`,
      [image.id],
    );
    const loaded = await db.dataSource.getRepository(Image).findOneOrFail({
      where: { externalId: '1' },
      relations: { garments: true },
    });
    expect(loaded.width).toBe(10);
    const garment = loaded.garments![0];
    expect(garment.superCategory).toBe('TOP');
    expect(garment.polygon).toEqual([1, 2, 3, 4, 5, 6]);
    expect(garment.searchTerms).toEqual([7, 8]);
    expect(garment.source).toBe('annotation');
  });
});
