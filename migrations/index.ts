/** Every migration, in order. A new migration is a new file here, reviewed like code. */
import { InitialSchema1764201600000 } from './1764201600000-InitialSchema';

export const MIGRATIONS = [InitialSchema1764201600000];
