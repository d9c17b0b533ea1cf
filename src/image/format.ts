// Human-readable output as docker prints it: sizes ("4.26MB"), ages ("2 hours ago") and the
// `images` table (REPOSITORY TAG IMAGE ID CREATED SIZE).
import { shortId } from './digest.js';

const SIZE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];

/** Decimal size with 3 significant digits, like docker's units.HumanSize: 4261550 -> "4.26MB". */
export function humanSize(bytes: number): string {
  let size = bytes;
  let i = 0;
  while (size >= 1000 && i < SIZE_UNITS.length - 1) {
    size /= 1000;
    i++;
  }
  return `${Number(size.toPrecision(3))}${SIZE_UNITS[i]}`;
}

/** A duration as docker words it (units.HumanDuration): "About an hour", "3 weeks". */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(ms / 60000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3600000);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(hours / 24 / 365)} years`;
}

/** "2 hours ago"; "N/A" for an unknown time. */
export function humanAge(unixSeconds: number, now = Date.now()): string {
  if (!unixSeconds) return 'N/A';
  return `${humanDuration(Math.max(0, now - unixSeconds * 1000))} ago`;
}

/** The fields of an image summary the table needs (docker's /images/json shape). */
export interface ImageTableInput {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: number;
  Size: number;
}

export interface ImageTableRow {
  repository: string;
  tag: string;
  imageId: string;
  created: string;
  size: string;
}

/** One row per repository tag (untagged images show "<none>"), as `docker images` lists them. */
export function imageTableRows(images: ImageTableInput[], now = Date.now()): ImageTableRow[] {
  const rows: ImageTableRow[] = [];
  for (const img of images) {
    const base = { imageId: shortId(img.Id), created: humanAge(img.Created, now), size: humanSize(img.Size) };
    if (img.RepoTags.length) {
      for (const rt of img.RepoTags) {
        const i = rt.lastIndexOf(':');
        rows.push({ repository: rt.slice(0, i), tag: rt.slice(i + 1), ...base });
      }
    } else if (img.RepoDigests.length) {
      for (const rd of new Set(img.RepoDigests.map((d) => d.slice(0, d.indexOf('@'))))) rows.push({ repository: rd, tag: '<none>', ...base });
    } else {
      rows.push({ repository: '<none>', tag: '<none>', ...base });
    }
  }
  return rows;
}

/** The `images` table as text, columns padded like docker's tabwriter (3 spaces apart). */
export function formatImageTable(images: ImageTableInput[], now = Date.now()): string {
  const header = ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'];
  const rows = imageTableRows(images, now).map((r) => [r.repository, r.tag, r.imageId, r.created, r.size]);
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => r[c]!.length)));
  return all.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]! + 3))).join('')).join('\n') + '\n';
}
