import { neutralise } from './neutralise';

/** `2026-11-28T10:12:00Z`: an ISO time to the second (a value that is no time is shown neutralised). */
export function utcSeconds(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? neutralise(iso, 40) : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `iso` moved by `seconds` (a value that is no time is given back as it is). */
export function addSeconds(iso: string, seconds: number): string {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? iso : new Date(ms + seconds * 1000).toISOString();
}
