/**
 * schema.graphql (the SDL clients and reviewers read) must be what the code builds.
 * Regenerate with: npm run build && node bin/kfashion.js serve --print-schema > schema.graphql
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { printApiSchema } from '../../src/graphql/schema';

it('schema.graphql is current', () => {
  const file = path.resolve(__dirname, '../../schema.graphql');
  const committed = fs.readFileSync(file, 'utf8');
  expect(committed).toBe(printApiSchema());
});

it('has the names clients and the console rely on', () => {
  const sdl = printApiSchema();
  for (const expected of [
    'imageByExternalId(externalId: String!): Image',
    'image(id: ID!): Image',
    'images(after: String, first: Int, where: ImageWhere): ImageConnection!',
    'searchGarments(after: String, first: Int, where: GarmentWhere!): GarmentConnection!',
    'garmentFacets(kinds: [String!]!, where: GarmentWhere): [Facet!]!',
    'vocabulary(kind: String): [VocabularyEntry!]!',
    'garments(source: LabelSource): [Garment!]!',
    'enum SuperCategory {\n  BOTTOM\n  ONE_PIECE\n  OUTER\n  TOP\n}',
    'enum LabelSource {\n  ANNOTATION\n  PREDICTION\n}',
  ]) {
    expect(sdl).toContain(expected);
  }
});
