/**
 * schema.graphql (the SDL clients and reviewers read) must be what the code builds.
 * Regenerate with: npm run build && node bin/kfashion.js serve --print-schema > schema.graphql
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { GraphQLEnumType, GraphQLInterfaceType, GraphQLObjectType } from 'graphql';
import { buildApiSchema, printApiSchema } from '../../src/graphql/schema';

it('schema.graphql is current', () => {
  const file = path.resolve(__dirname, '../../schema.graphql');
  const committed = fs.readFileSync(file, 'utf8');
  expect(committed).toBe(printApiSchema());
});

/** `field(arg: Type, …): Type` of a field, arguments sorted, descriptions left out. */
function signature(type: string, field: string): string {
  const found = (buildApiSchema().getType(type) as GraphQLObjectType | GraphQLInterfaceType).getFields()[field];
  const args = [...found.args].sort((a, b) => a.name.localeCompare(b.name)).map((arg) => `${arg.name}: ${arg.type}`);
  return `${field}${args.length ? `(${args.join(', ')})` : ''}: ${found.type}`;
}

/** The values of an enum, sorted. */
function enumValues(name: string): string[] {
  return (buildApiSchema().getType(name) as GraphQLEnumType)
    .getValues()
    .map((value) => value.name)
    .sort();
}

it('has the names clients and the console rely on', () => {
  expect(
    [
      ['Query', 'imageByExternalId'],
      ['Query', 'image'],
      ['Query', 'images'],
      ['Query', 'searchGarments'],
      ['Query', 'garmentFacets'],
      ['Query', 'vocabulary'],
      ['Image', 'garments'],
      ['Query', 'node'],
      ['Query', 'nodes'],
      ['Query', 'trainingRuns'],
      ['Query', 'modelVersions'],
      ['Query', 'predictionJobs'],
      ['Node', 'id'],
    ].map(([type, field]) => signature(type, field)),
  ).toEqual([
    'imageByExternalId(externalId: String!): Image',
    'image(id: ID!): Image',
    'images(after: String, first: Int, where: ImageWhere): ImageConnection!',
    'searchGarments(after: String, first: Int, where: GarmentWhere!): GarmentConnection!',
    'garmentFacets(kinds: [AttributeKind!]!, where: GarmentWhere): [Facet!]!',
    'vocabulary(kind: AttributeKind): [VocabularyEntry!]!',
    'garments(source: LabelSource): [Garment!]!',
    'node(id: ID!): Node',
    'nodes(ids: [ID!]!): [Node]!',
    'trainingRuns(after: String, first: Int, status: JobStatus): TrainingRunConnection!',
    'modelVersions(after: String, first: Int): ModelVersionConnection!',
    'predictionJobs(after: String, first: Int, status: JobStatus): PredictionJobConnection!',
    'id: ID!',
  ]);
  expect(enumValues('SuperCategory')).toEqual(['BOTTOM', 'ONE_PIECE', 'OUTER', 'TOP']);
  expect(enumValues('LabelSource')).toEqual(['ANNOTATION', 'PREDICTION']);
  expect(enumValues('JobStatus')).toEqual(['CANCELLED', 'FAILED', 'QUEUED', 'RUNNING', 'SUCCEEDED']);
  const node = buildApiSchema().getType('Node') as GraphQLInterfaceType;
  expect(
    buildApiSchema()
      .getPossibleTypes(node)
      .map((type) => type.name)
      .sort(),
  ).toEqual(['Dataset', 'Garment', 'GarmentEdit', 'Image', 'ModelVersion', 'PredictionJob', 'TrainingRun']);
});
