/**
 * A labelled select whose first option means "no choice" (null), e.g. every split or the active
 * model version; the other options are [value, label] pairs.
 */
import type { ModelVersionChoice } from '../search-api';

export type SelectOptions<Value extends string> = readonly (readonly [Value, string])[];

export const SPLIT_OPTIONS = [
  ['TRAIN', 'training'],
  ['VALIDATION', 'validation'],
] as const;

export function modelVersionOptions(versions: ModelVersionChoice[]): SelectOptions<string> {
  return versions.map((version) => [version.id, `${version.name}${version.isActive ? ' (active)' : ''}`]);
}

export function OptionalSelect<Value extends string>(props: {
  label: string;
  name: string;
  value: Value | null;
  /** The label of the no-choice option. */
  none: string;
  options: SelectOptions<Value>;
  onChange: (value: Value | null) => void;
}) {
  return (
    <label>
      {props.label}{' '}
      <select
        name={props.name}
        value={props.value ?? ''}
        onChange={(event) => props.onChange((event.target.value || null) as Value | null)}
      >
        <option value="">{props.none}</option>
        {props.options.map(([value, text]) => (
          <option key={value} value={value}>
            {text}
          </option>
        ))}
      </select>
    </label>
  );
}
