// Durations as the pages show them.

/** Seconds as m:ss (an hour and more stays in minutes: 75:02). */
export function minutesSeconds(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
