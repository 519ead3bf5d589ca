/**
 * Errors as a contract: the ErrorCode enum is every code a client can see, each listed in
 * docs/graphql-api.md#errors, and formatError lets no other code through.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GraphQLError } from 'graphql';
import { ErrorCode, formatAnyError } from '../../src/graphql/errors';

/** The codes the Errors section of the API page lists, in its order. */
function documentedCodes(): string[] {
  const page = fs.readFileSync(path.resolve(__dirname, '../../docs/graphql-api.md'), 'utf8');
  const section = /\n## Errors\n([\s\S]*?)(\n## |$)/.exec(page)?.[1] ?? '';
  return [...section.matchAll(/^- `([A-Z_]+)`/gm)].map((match) => match[1]);
}

it('documents every code of ErrorCode, and only those', () => {
  expect(documentedCodes().sort()).toEqual(Object.values(ErrorCode).sort());
});

it('answers a code outside the enum as INTERNAL_SERVER_ERROR, logging it, and lets the enum codes through', () => {
  const logged: unknown[] = [];
  const log = (message: string, error?: unknown) => logged.push(message, error);
  const stray = formatAnyError(new GraphQLError('library detail at /srv/x', { extensions: { code: 'SOME_LIBRARY_CODE' } }), { log });
  expect(stray).toEqual({ message: 'Internal server error', extensions: { code: ErrorCode.InternalServerError } });
  expect(logged).toHaveLength(2);
  for (const code of Object.values(ErrorCode).filter((code) => code !== ErrorCode.InternalServerError)) {
    expect(formatAnyError(new GraphQLError('told', { extensions: { code } }), { log }).extensions?.code).toBe(code);
  }
});

it('names a variable graphql-js refused in extensions.field', () => {
  const refused = new GraphQLError('Variable "$status" got invalid value "bogus"; Value "bogus" does not exist in "JobStatus" enum.', {
    extensions: { code: ErrorCode.BadUserInput },
  });
  expect(formatAnyError(refused).extensions).toEqual({ code: ErrorCode.BadUserInput, field: '$status' });
  const inside = new GraphQLError(
    'Variable "$where" got invalid value "colour" at "where.attributes[0].kind"; Value "colour" does not exist in "AttributeKind" enum.',
    {
      extensions: { code: ErrorCode.BadUserInput },
    },
  );
  expect(formatAnyError(inside).extensions).toEqual({ code: ErrorCode.BadUserInput, field: '$where.attributes[0].kind' });
});
