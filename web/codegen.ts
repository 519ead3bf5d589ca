/**
 * Typed operation documents for the web console, generated from schema.graphql (`npm run codegen`):
 * every `graphql(...)` document in web/src is validated against the schema here, and web/src/gql/
 * gives each its result and variable types, which `tsc -p web/tsconfig.json` then checks.
 * The documents are plain strings (documentMode "string"): the console sends them as they are and
 * bundles no GraphQL parser. test/web/codegen.test.ts fails when the committed output is stale.
 */
import type { CodegenConfig } from '@graphql-codegen/cli';

export const GENERATED_DIR = 'web/src/gql/';

const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['web/src/**/*.{ts,tsx}', `!${GENERATED_DIR}**`],
  ignoreNoDocuments: false,
  generates: {
    [GENERATED_DIR]: {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        documentMode: 'string',
        enumsAsTypes: true,
        useTypeImports: true,
        strictScalars: true,
        scalars: { DateTime: 'string', JSONObject: 'Record<string, unknown>' },
      },
    },
    [`${GENERATED_DIR}input-fields.ts`]: {
      plugins: ['./web/codegen/input-fields.cjs'],
      config: { inputTypes: ['StartTrainingInput'] },
    },
  },
};

export default config;
