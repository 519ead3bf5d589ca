/** Every migration, in order. A new migration is a new file here, reviewed like code. */
import { InitialSchema1764201600000 } from './1764201600000-InitialSchema';
import { GarmentSplit1764300000000 } from './1764300000000-GarmentSplit';

export const MIGRATIONS = [InitialSchema1764201600000, GarmentSplit1764300000000];
