/**
 * Which module may import which, checked on imports read with the TypeScript compiler's parser:
 * static imports, `import type`, re-exports, `import x = require()`, dynamic `import()` and `require()`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { builtinModules } from 'node:module';
import ts from 'typescript';

export interface ImportEdge {
  /** importing file, relative to the repository, with forward slashes */
  from: string;
  /** the specifier as written */
  specifier: string;
  /** the imported file relative to the repository (no extension) for a relative specifier, else the package name */
  target: string;
  /** erased at compile time: `import type`, or every named binding marked `type` */
  typeOnly: boolean;
  line: number;
}

export interface Violation {
  rule: string;
  where: string;
  detail: string;
}

const PACKAGE_NAME = /^(@[^/]+\/[^/]+|[^/]+)/;

function targetOf(from: string, specifier: string): string {
  if (!specifier.startsWith('.')) return PACKAGE_NAME.exec(specifier)?.[1] ?? specifier;
  return path.posix
    .normalize(path.posix.join(path.posix.dirname(from), specifier))
    .replace(/\.(ts|tsx|js)$/, '')
    .replace(/\/index$/, '');
}

function isTypeOnlyImport(node: ts.ImportDeclaration): boolean {
  const clause = node.importClause;
  if (!clause) return false; // `import './x'` runs the module
  if (clause.isTypeOnly) return true;
  if (clause.name) return false;
  const bindings = clause.namedBindings;
  return (
    bindings !== undefined && ts.isNamedImports(bindings) && bindings.elements.length > 0 && bindings.elements.every((e) => e.isTypeOnly)
  );
}

/** Every import of one file's text (`from` is its repository-relative path). */
export function importsOf(from: string, text: string): ImportEdge[] {
  const source = ts.createSourceFile(from, text, ts.ScriptTarget.Latest, false, from.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const edges: ImportEdge[] = [];
  const add = (literal: ts.Expression | undefined, typeOnly: boolean) => {
    if (!literal || !ts.isStringLiteralLike(literal)) return;
    const line = source.getLineAndCharacterOfPosition(literal.getStart(source)).line + 1;
    edges.push({ from, specifier: literal.text, target: targetOf(from, literal.text), typeOnly, line });
  };
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node)) add(node.moduleSpecifier, isTypeOnlyImport(node));
    else if (ts.isExportDeclaration(node)) add(node.moduleSpecifier, node.isTypeOnly);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference))
      add(node.moduleReference.expression, node.isTypeOnly);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node.argument.literal, true);
    else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require'))
        add(node.arguments[0], false);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return edges;
}

/** Repository-relative paths of the TypeScript files below `dir`. */
export function typescriptFiles(root: string, dir: string): string[] {
  const out: string[] = [];
  const walk = (relative: string) => {
    for (const entry of fs.readdirSync(path.join(root, relative), { withFileTypes: true })) {
      const child = path.posix.join(relative, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (/\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(child);
    }
  };
  walk(dir);
  return out.sort();
}

const within = (file: string, folder: string) => file === folder || file.startsWith(`${folder}/`);
const NODE_BUILTINS = new Set(builtinModules);
const isBuiltin = (target: string) => target.startsWith('node:') || NODE_BUILTINS.has(target);

/** What one folder of src/ may import: everything else is forbidden. */
export interface Layer {
  folder: string;
  /** why the layer stops where it does, printed with a violation */
  why: string;
  /** repository folders or modules (a folder admits everything below it), or '*' for anything */
  may: string[] | '*';
  /** folders or modules imported for their types only (erased at compile time) */
  mayTypesOf?: string[];
  /** npm packages (Node's built-in modules are always allowed) */
  packages: string[] | '*';
}

const TENSORFLOW = [
  '@tensorflow/tfjs-core',
  '@tensorflow/tfjs-backend-cpu',
  '@tensorflow/tfjs-backend-wasm',
  '@tensorflow/tfjs-layers',
  '@tensorflow/tfjs-node',
  '@tensorflow/tfjs-node-gpu',
];

/**
 * The layering of docs/development.md ("Import rules"), folder by folder; imports.test.ts checks that
 * the diagram there and this list name the same folders. src/db may import src/ml for types only: its
 * readers implement interfaces that the ML side defines for the data it needs (TrainingExampleSource),
 * and type imports are erased, so the database layer never loads ML code.
 */
export const LAYERS: Layer[] = [
  { folder: 'src/cli', why: 'the commands wire every layer together', may: '*', packages: '*' },
  {
    folder: 'src/graphql',
    why: "the API reaches model servers over HTTP and the job queue, and of src/ml only the weights catalogue, the label space, the memory budget and the embeddings' wire form",
    may: [
      'src/db',
      'src/similarity',
      'src/jobs',
      'src/images',
      'src/uploads',
      'src/auth',
      'src/kfashion',
      'src/util',
      'src/ml/weights',
      'src/ml/data',
      'src/ml/train/step-memory',
      'src/ml/embedding',
    ],
    packages: [
      '@apollo/server',
      'type-graphql',
      'graphql',
      'graphql-scalars',
      'graphql-query-complexity',
      'graphql-ws',
      'ws',
      'dataloader',
      'reflect-metadata',
      'typeorm',
      'sharp',
    ],
  },
  {
    folder: 'src/similarity',
    why: 'the vector indexes read embeddings and filters through src/db and know nothing of GraphQL or the model',
    may: ['src/db', 'src/util'],
    packages: ['usearch', 'typeorm'],
  },
  {
    folder: 'src/model-server',
    why: 'the GPU-side process runs the model on jobs from the database queue',
    may: ['src/db', 'src/jobs', 'src/images', 'src/ml', 'src/util'],
    packages: [...TENSORFLOW, 'typeorm'],
  },
  {
    folder: 'src/jobs',
    why: 'what the API and the model servers agree on: the queue, its channels and leases, and training parameters',
    may: ['src/db', 'src/kfashion', 'src/ml', 'src/util'],
    packages: ['pg-boss', 'typeorm'],
  },
  {
    folder: 'src/db',
    why: 'the database layer depends on no layer above it (src/ml for types only, but for the pure review scoring it stores)',
    may: ['src/kfashion', 'src/jobs', 'src/auth', 'src/images', 'src/util', 'migrations', 'src/ml/review'],
    mayTypesOf: ['src/ml'],
    packages: ['typeorm', 'pg', 'pg-copy-streams', 'reflect-metadata'],
  },
  {
    folder: 'src/ml',
    why: 'the ML layer knows tensors, boxes and images',
    may: ['src/kfashion', 'src/images', 'src/util'],
    packages: [...TENSORFLOW, 'onnx-proto', 'onnxruntime-node', 'onnxruntime-web'],
  },
  { folder: 'src/uploads', why: 'the upload store keeps files', may: ['src/images', 'src/util'], packages: [] },
  { folder: 'src/images', why: 'the image decoder knows bytes and pixels', may: ['src/util'], packages: ['sharp'] },
  { folder: 'src/kfashion', why: 'the K-Fashion format stands on its own', may: ['src/util'], packages: ['sharp'] },
  { folder: 'src/auth', why: 'roles stand on their own', may: [], packages: [] },
  { folder: 'src/util', why: 'helpers depend on nothing of the project', may: [], packages: [] },
];

const layerOf = (file: string, layers: Layer[]) => layers.find((layer) => within(file, layer.folder));
const admits = (list: string[] | '*' | undefined, target: string) => list === '*' || (list ?? []).some((entry) => within(target, entry));

/** Why `edge` leaves its layer, or null when the layer's allow-list admits it. */
function forbidden(edge: ImportEdge, layer: Layer): string | null {
  const what = `${edge.target} ('${edge.specifier}'${edge.typeOnly ? ', type-only' : ''})`;
  const local = edge.specifier.startsWith('.');
  if (!local) return isBuiltin(edge.target) || admits(layer.packages, edge.target) ? null : `imports package ${what}`;
  if (within(edge.target, layer.folder) || admits(layer.may, edge.target)) return null;
  if (edge.typeOnly && admits(layer.mayTypesOf, edge.target)) return null;
  return `imports ${what}`;
}

export function importViolations(edges: ImportEdge[], layers: Layer[] = LAYERS): Violation[] {
  return edges.flatMap((edge) => {
    if (!within(edge.from, 'src') || edge.from === 'src/index.ts') return [];
    const layer = layerOf(edge.from, layers);
    const where = `${edge.from}:${edge.line}`;
    if (!layer) return [{ rule: 'every folder of src/ has a layer in LAYERS', where, detail: `no layer for ${edge.from}` }];
    const detail = forbidden(edge, layer);
    return detail ? [{ rule: `${layer.folder}: ${layer.why}`, where, detail }] : [];
  });
}

/** Words that open an SQL statement, at the start of a string or template (upper case, as the project writes SQL). */
const SQL_START =
  /^\s*(SELECT|INSERT INTO|UPDATE \S+ SET|DELETE FROM|WITH \S+ AS|CREATE (TABLE|INDEX|DATABASE|EXTENSION)|DROP (TABLE|INDEX|DATABASE)|ALTER TABLE|TRUNCATE|VACUUM|LISTEN|NOTIFY)\b/;

/** Raw SQL in one file, found on its syntax tree: `.query(…)` and `.createQueryRunner` calls, and strings or templates that open a statement. */
export function sqlOf(file: string, text: string): Violation[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, file.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const found: Violation[] = [];
  const report = (node: ts.Node, detail: string) =>
    found.push({
      rule: 'SQL only in src/db and migrations',
      where: `${file}:${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}`,
      detail,
    });
  const visit = (node: ts.Node) => {
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === 'query') {
      report(node, '.query(');
    } else if (ts.isPropertyAccessExpression(node) && node.name.text === 'createQueryRunner') {
      report(node, '.createQueryRunner');
    } else if (
      (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateHead(node)) &&
      SQL_START.test(node.text)
    ) {
      report(node, node.text.trim().split('\n')[0].slice(0, 60));
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** Raw SQL outside src/db and migrations. */
export function sqlViolations(files: { path: string; text: string }[]): Violation[] {
  return files
    .filter((file) => !within(file.path, 'src/db') && !within(file.path, 'migrations'))
    .flatMap((file) => sqlOf(file.path, file.text));
}
