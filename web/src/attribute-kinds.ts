/**
 * The console names attribute kinds as the data does (`subColor`: URL keys, labels, `data-kind`);
 * the API names them by its AttributeKind enum (`SUB_COLOR`). These two convert at the boundary.
 */
import type { AttributeKind } from './gql/graphql';

export function apiKind(kind: string): AttributeKind {
  return kind.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase() as AttributeKind;
}

export function consoleKind(kind: AttributeKind): string {
  return kind.toLowerCase().replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());
}
