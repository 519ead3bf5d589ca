// ESLint 9 flat config: typescript-eslint's type-aware recommended rules over every TypeScript file
// of the tree (its few JavaScript files get the untyped ones, below). Formatting is Prettier's
// (.prettierrc.json), so no stylistic rule is enabled here.
// Types come from the nearest tsconfig.json (projectService): tsconfig.json for src, migrations, test,
// bench and tools, web/tsconfig.json for web/src. `npm run lint` runs it; `npm test` runs that first.
import eslint from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// no-unnecessary-type-assertion also reports `f(…) as T` where f's type argument could be inferred
// from T, asking for `f<T>(…)`: the same unchecked claim spelt differently, 66 times over TensorFlow.js
// calls (`tf.addN(losses) as tf.Scalar`). This processor drops that one message and keeps the rule's
// others (a `!` or `as` that changes nothing), which `eslint --fix` removes.
const keepInferableTypeArgumentAssertions = {
  meta: { name: 'keep-inferable-type-argument-assertions' },
  supportsAutofix: true,
  preprocess: (text) => [text],
  postprocess: (messages) => messages.flat().filter((message) => message.messageId !== 'contextuallyInferredTypeArguments'),
};

export default tseslint.config(
  {
    // Generated: graphql-codegen writes web/src/gql from schema.graphql; tsc and Vite write the dist folders.
    ignores: ['web/src/gql/**', '**/dist/**', 'node_modules/**', 'coverage/**', 'test-artifacts/**', 'bench/out/**', '.kfashion/**'],
  },
  eslint.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: {
          // The console's Vite configuration, which no tsconfig includes (web/tsconfig.json covers the
          // browser code only; web/codegen.ts is in tsconfig.json through test/web/codegen.test.ts),
          // is checked with the console's compiler options so that `vite` resolves as Vite resolves it.
          allowDefaultProject: ['web/vite.config.mts'],
          defaultProject: 'web/tsconfig.json',
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
  },
  {
    files: ['**/*.ts', '**/*.tsx', '**/*.mts'],
    processor: keepInferableTypeArgumentAssertions,
  },
  {
    rules: {
      // `async` here implements Promise-returning interfaces (Apollo plugin hooks, TrainingExampleSource,
      // model and doctor probes): dropping it where nothing is awaited would turn a thrown error into a
      // synchronous throw instead of a rejected promise, a change of behaviour for every caller.
      '@typescript-eslint/require-await': 'off',
      // A leading underscore names what is left out on purpose: a destructured field dropped from a
      // copy (`const { http: _status, ...rest }`) or an argument an interface passes but this one ignores.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // Error messages print tensor shapes as `[${shape}]`: an array's comma-joined elements is the intended text.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowArray: true }],
    },
  },
  {
    // Tests and benchmarks read JSON (GraphQL and HTTP answers, fixtures) and poke at library
    // internals; typing each of those ~1,700 reads would repeat the shapes the assertions already
    // check, so the any-safety rules apply to the application code (src, web, migrations, tools) only.
    // For the same reason their messages print such values (and WebSocket frames) as they come.
    files: ['test/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // Plain CommonJS/ESM scripts and configuration (bin, jest and ESLint configs, tools, the codegen
    // plugin): no tsconfig compiles them (tsconfig.json has no allowJs), so they get the rules that
    // need no type information.
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: globals.node, sourceType: 'commonjs' },
    // CommonJS modules load with require(); there is no import to prefer.
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { sourceType: 'module' },
  },
  {
    files: ['web/src/**'],
    languageOptions: { globals: globals.browser },
  },
);
