/** @module catalog/licenses/copyright — licenses declared by a Debian copyright file (DEP-5 or free text). */
import { parseDeb822, field } from '../../debian/deb822.js';
import { normalizeLicenseName, splitLicenseSpec } from './spdx.js';

/** Copyright files are text; a larger one is not worth scanning for license names. */
export const COPYRIGHT_MAX_BYTES = 4 * 1024 * 1024;

const DEP5_FORMAT = /^Format:\s*\S*(copyright-format|dep5|DEP-5)/im;

/**
 * License names (SPDX ids where one fits, else as written) declared by `/usr/share/doc/<pkg>/copyright`,
 * in order of first appearance, without duplicates.
 *
 * Machine-readable files (DEP-5): the short names on the first line of `License:` in the header and the `Files`
 * paragraphs. Stand-alone `License` paragraphs only hold license texts for names already used, and the
 * `/usr/share/common-licenses/…` sentences inside them point at a text, not at a grant, so both are skipped.
 *
 * Free-text files: "GNU [Lesser] General Public License … version N [or (at your option) any later version]"
 * sentences and `/usr/share/common-licenses/NAME` references (an unversioned `GPL`/`LGPL` reference is dropped
 * when a sentence already gave the version).
 */
export function licensesFromCopyright(content: Buffer | string): string[] {
  const text = typeof content === 'string' ? content : content.toString('utf8');
  const head = text.slice(0, 2048);
  return DEP5_FORMAT.test(head) ? fromDep5(text) : fromFreeText(text);
}

function fromDep5(text: string): string[] {
  const found = new Set<string>();
  const { paragraphs } = parseDeb822(text, { maxIssues: 0 });
  paragraphs.forEach((paragraph, index) => {
    const isHeader = index === 0 && field(paragraph, 'Format') !== undefined;
    if (!isHeader && field(paragraph, 'Files') === undefined) return;
    const license = field(paragraph, 'License');
    if (license === undefined) return;
    const firstLine = license.split('\n', 1)[0]!;
    for (const name of splitLicenseSpec(firstLine)) found.add(name);
  });
  // Some DEP-5 files declare every license only in stand-alone paragraphs; fall back to those names.
  if (found.size === 0) {
    for (const paragraph of paragraphs) {
      const license = field(paragraph, 'License');
      if (license !== undefined) for (const name of splitLicenseSpec(license.split('\n', 1)[0]!)) found.add(name);
    }
  }
  return [...found];
}

const COMMON_LICENSE = /\/usr\/share\/common-licenses\/([0-9A-Za-z_.+-]*[0-9A-Za-z+])/g;
const GNU_SENTENCE =
  /GNU\s+(Lesser\s+|Library\s+|Affero\s+)?General\s+Public\s+License\W{0,40}?(?:\([A-Z]+\)\W*)?(?:(?:as\s+published\s+by\s+the\s+Free\s+Software\s+Foundation|,)\W*)?(?:either\s+)?(?:version\s+|v)(\d(?:\.\d)?)([^.;]{0,60})/gi;
const GFDL_SENTENCE = /GNU\s+Free\s+Documentation\s+License\W{0,40}?(?:\(G?FDL\)\W*)?(?:either\s+)?(?:version\s+|v)(\d\.\d)([^.;]{0,60})/gi;
const LATER = /later|newer/i;
/** "… version 2 can be found in /usr/share/common-licenses/GPL-2": a pointer to the text, not a grant. */
const POINTER = /can\s+be\s+found|common-licenses/i;

/** Debian's unversioned common-licenses files are symlinks to these. */
const UNVERSIONED: Record<string, string> = { GPL: 'GPL-3', LGPL: 'LGPL-3', GFDL: 'GFDL-1.3' };

function familyOf(id: string): string {
  return id.replace(/-\d.*$/, '').toUpperCase();
}

function fromFreeText(text: string): string[] {
  const found = new Set<string>();
  const flat = text.replace(/^[ \t]*[*#]+[ \t]?/gm, '').replace(/\s+/g, ' ');
  for (const match of flat.matchAll(GNU_SENTENCE)) {
    if (POINTER.test(match[3] ?? '')) continue;
    const kind = (match[1] ?? '').trim().toLowerCase();
    const family = kind === 'affero' ? 'AGPL' : kind === '' ? 'GPL' : 'LGPL';
    const later = LATER.test(match[3] ?? '');
    found.add(normalizeLicenseName(`${family}-${match[2]}${later ? '+' : ''}`));
  }
  for (const match of flat.matchAll(GFDL_SENTENCE)) {
    if (POINTER.test(match[2] ?? '')) continue;
    found.add(normalizeLicenseName(`GFDL-${match[1]}${LATER.test(match[2] ?? '') ? '+' : ''}`));
  }
  const families = new Set([...found].map(familyOf));
  for (const match of text.matchAll(COMMON_LICENSE)) {
    const name = match[1]!;
    const target = UNVERSIONED[name.toUpperCase()];
    if (target !== undefined) {
      if (families.has(name.toUpperCase())) continue;
      found.add(normalizeLicenseName(target));
      continue;
    }
    const id = normalizeLicenseName(name);
    // `common-licenses/GPL-2` next to "version 2 or later": the sentence is the grant, the file only its text.
    const version = /-(\d+(?:\.\d+)?)/.exec(id)?.[1];
    const sameVersion = [...found].some((known) => familyOf(known) === familyOf(id) && version !== undefined && known.includes(`-${version}`));
    if (!sameVersion) found.add(id);
  }
  // Free text often states "version 2" when pointing at the text and "version 2 or later" when granting.
  return [...found].filter((id) => !(id.endsWith('-only') && found.has(id.replace(/-only$/, '-or-later'))));
}
