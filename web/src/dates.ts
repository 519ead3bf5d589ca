/**
 * Dates as the console shows them: ISO 8601 order (2026-12-07 14:03), which reads the same in every
 * locale, unlike 07/12/2026. In the browser's time zone, as the clock beside the user shows it.
 */

function twoDigits(value: number): string {
  return String(value).padStart(2, '0');
}

/** "2026-12-07 14:03" (local time, to the minute) from an ISO timestamp of the API. */
export function dateTimeText(iso: string): string {
  const date = new Date(iso);
  const day = `${date.getFullYear()}-${twoDigits(date.getMonth() + 1)}-${twoDigits(date.getDate())}`;
  return `${day} ${twoDigits(date.getHours())}:${twoDigits(date.getMinutes())}`;
}
