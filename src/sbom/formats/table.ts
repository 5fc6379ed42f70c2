/** @module sbom/formats/table — a plain-text package table (no colours; the CLI decorates it). */
import type { Package, Sbom } from '../package.js';

export interface TableEncodeOptions {
  /** Terminal width; when the table is wider, the widest of NAME/VERSION/SOURCE are shortened with `…`. */
  width?: number;
}

function sourceOf(pkg: Package): string {
  if (pkg.type === 'deb') return pkg.sourceName === pkg.name && pkg.sourceVersion === pkg.version ? '' : `${pkg.sourceName} ${pkg.sourceVersion}`;
  if (pkg.type === 'apk') return pkg.origin === pkg.name ? '' : pkg.origin;
  return '';
}

function clip(value: string, width: number): string {
  const chars = [...value];
  if (chars.length <= width) return value;
  return width <= 1 ? chars.slice(0, width).join('') : `${chars.slice(0, width - 1).join('')}…`;
}

/**
 * Columns NAME VERSION TYPE, plus ARCH and SOURCE when any deb/apk package is present; rows sorted by name,
 * version, type; a summary line `N packages (deb 118), M source packages`. Ends with a newline.
 */
export function encodeTable(sbom: Sbom, options: TableEncodeOptions = {}): string {
  const packages = [...sbom.packages].sort((a, b) => cmp(a.name, b.name) || cmp(a.version, b.version) || cmp(a.type, b.type) || cmp(a.purl, b.purl));
  const os = packages.some((p) => p.type === 'deb' || p.type === 'apk');
  // Language packages are only findable by where they sit; OS packages all come from the package database.
  const language = packages.some((p) => p.type !== 'deb' && p.type !== 'apk');
  const header = [...(os ? ['NAME', 'VERSION', 'TYPE', 'ARCH', 'SOURCE'] : ['NAME', 'VERSION', 'TYPE']), ...(language ? ['PATH'] : [])];
  const rows = packages.map((p) => {
    const row = [p.name, p.version, p.type];
    if (os) row.push(p.type === 'deb' || p.type === 'apk' ? p.architecture : '', sourceOf(p));
    if (language) row.push(p.type === 'deb' || p.type === 'apk' ? '' : (p.type === 'java-archive' ? p.virtualPath : p.locations[0]?.path ?? ''));
    return row;
  });
  const widths = header.map((h, i) => Math.max([...h].length, ...rows.map((r) => [...(r[i] as string)].length)));
  if (options.width !== undefined && options.width > 0) {
    const shrinkable = [...(os ? [0, 1, 4] : [0, 1]), ...(language ? [header.length - 1] : [])];
    const total = (): number => widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1);
    while (total() > options.width) {
      const widest = shrinkable.reduce((best, i) => ((widths[i] as number) > (widths[best] as number) ? i : best), shrinkable[0] as number);
      if ((widths[widest] as number) <= Math.max(4, [...(header[widest] as string)].length)) break;
      widths[widest] = (widths[widest] as number) - 1;
    }
  }
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => {
        const clipped = clip(cell, widths[i] as number);
        return i === cells.length - 1 ? clipped : clipped + ' '.repeat((widths[i] as number) - [...clipped].length);
      })
      .join('  ')
      .trimEnd();
  const counts = new Map<string, number>();
  for (const p of packages) counts.set(p.type, (counts.get(p.type) ?? 0) + 1);
  const byType = [...counts].sort((a, b) => cmp(a[0], b[0])).map(([t, n]) => `${t} ${n}`).join(', ');
  const summary = `${packages.length} package${packages.length === 1 ? '' : 's'}${byType ? ` (${byType})` : ''}, ${sbom.sourcePackages.length} source package${sbom.sourcePackages.length === 1 ? '' : 's'}`;
  const issues = sbom.issues.length === 0 ? '' : `, ${sbom.issues.length} issue${sbom.issues.length === 1 ? '' : 's'} (see --format json)`;
  return [subjectLine(sbom), '', line(header), ...rows.map(line), '', summary + issues].join('\n') + '\n';
}

/** `docker-archive:x.tar  Debian GNU/Linux 12 (bookworm)  linux/amd64  sha256:f1b47e095ba1` */
function subjectLine(sbom: Sbom): string {
  const { subject, distro } = sbom;
  const platform = subject.platform ? [subject.platform.os, subject.platform.architecture, subject.platform.variant].filter(Boolean).join('/') : '';
  const os = distro ? (distro.prettyName ?? [distro.id, distro.precise ?? distro.versionId].filter(Boolean).join(' ')) : 'unknown OS';
  return [subject.reference, os, platform, subject.digest?.slice(0, 19) ?? ''].filter(Boolean).join('  ');
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
