/**
 * Which module may import which, checked on imports read with the TypeScript compiler's parser:
 * static imports, `import type`, re-exports, `import x = require()`, dynamic `import()` and `require()`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
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
  return path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier)).replace(/\.(ts|tsx|js)$/, '').replace(/\/index$/, '');
}

function isTypeOnlyImport(node: ts.ImportDeclaration): boolean {
  const clause = node.importClause;
  if (!clause) return false; // `import './x'` runs the module
  if (clause.isTypeOnly) return true;
  if (clause.name) return false;
  const bindings = clause.namedBindings;
  return bindings !== undefined && ts.isNamedImports(bindings) && bindings.elements.length > 0 && bindings.elements.every((e) => e.isTypeOnly);
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
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) add(node.moduleReference.expression, node.isTypeOnly);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node.argument.literal, true);
    else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require')) add(node.arguments[0], false);
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
const DATABASE_PACKAGES = ['typeorm', 'pg', 'pg-boss', 'pg-copy-streams'];

interface Rule {
  name: string;
  /** the importing files the rule applies to */
  applies(from: string): boolean;
  /** why the edge is forbidden, or null */
  forbids(edge: ImportEdge): string | null;
}

function noImport(name: string, folder: string, forbidden: string[], options: { allowTypeOnly?: string[] } = {}): Rule {
  return {
    name,
    applies: (from) => within(from, folder),
    forbids: (edge) => {
      const hit = forbidden.find((f) => (f.startsWith('src/') ? within(edge.target, f) : edge.target === f));
      if (!hit) return null;
      if (edge.typeOnly && options.allowTypeOnly?.includes(hit)) return null;
      return `imports ${hit} ('${edge.specifier}'${edge.typeOnly ? ', type-only' : ''})`;
    },
  };
}

/**
 * The layering. src/db may import src/ml for types only: its readers implement interfaces that the ML
 * side defines for the data it needs (TrainingExampleSource, AnnotatedImage), and type imports are
 * erased, so the database layer never loads ML code.
 */
export const RULES: Rule[] = [
  noImport('src/ml knows tensors, boxes and images: no database, API, model server or CLI', 'src/ml', [
    'src/db', 'src/graphql', 'src/model-server', 'src/cli', ...DATABASE_PACKAGES,
  ]),
  noImport('src/graphql reaches the model server over HTTP and shared modules, never its internals or the CLI', 'src/graphql', ['src/model-server', 'src/cli']),
  noImport('src/db depends on no layer above it (src/ml for types only)', 'src/db', ['src/graphql', 'src/model-server', 'src/cli', 'src/ml'], {
    allowTypeOnly: ['src/ml'],
  }),
  {
    name: 'only src/cli imports src/cli',
    applies: (from) => within(from, 'src') && !within(from, 'src/cli'),
    forbids: (edge) => (within(edge.target, 'src/cli') ? `imports ${edge.target} ('${edge.specifier}')` : null),
  },
];

export function importViolations(edges: ImportEdge[], rules: Rule[] = RULES): Violation[] {
  return edges.flatMap((edge) =>
    rules.filter((rule) => rule.applies(edge.from)).flatMap((rule) => {
      const detail = rule.forbids(edge);
      return detail ? [{ rule: rule.name, where: `${edge.from}:${edge.line}`, detail }] : [];
    }),
  );
}

/** `.query(` (raw SQL through TypeORM or pg) outside src/db: a textual check, comments included. */
export function queryCallViolations(files: { path: string; text: string }[]): Violation[] {
  return files
    .filter((file) => !within(file.path, 'src/db') && !within(file.path, 'migrations'))
    .flatMap((file) =>
      file.text.split('\n').flatMap((line, i) =>
        line.includes('.query(') ? [{ rule: 'SQL only in src/db and migrations', where: `${file.path}:${i + 1}`, detail: line.trim() }] : [],
      ),
    );
}
