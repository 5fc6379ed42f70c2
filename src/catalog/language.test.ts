/** @module catalog/language.test — all language catalogers over one real root filesystem, cross-checked against Trivy's package analysers. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cached, trivyRootfsPackages } from '../../test/helpers/oracles.js';
import { debianRoot, directoryContext, expressInstall, goBinaries } from '../../test/fixtures/catalog-lang/lang-helpers.js';
import type { Package } from '../sbom/package.js';
import { goCataloger, javaCataloger, languageCatalogers, npmCataloger, pythonCataloger } from './language.js';

interface CdxComponent {
  name: string;
  version?: string;
  purl?: string;
  licenses?: Array<{ license?: { name?: string; id?: string }; expression?: string }>;
  properties?: Array<{ name: string; value: string }>;
}

/** One rootfs with an npm tree, Debian Python packages, Go binaries and Debian jars (reused from the other tests' caches). */
function comboRoot(): string {
  const npm = expressInstall();
  const go = goBinaries();
  const python = debianRoot('python', ['python3-yaml', 'python3-requests', 'python3-six', 'python3-jwt', 'python3-urllib3', 'python3-idna']);
  const java = debianRoot('java', ['libcommons-lang3-java', 'libcommons-io-java']);
  return cached('lang-combo', (tmp) => {
    mkdirSync(join(tmp, 'srv/app'), { recursive: true });
    mkdirSync(join(tmp, 'usr/local'), { recursive: true });
    execFileSync('cp', ['-a', join(npm, 'node_modules'), join(tmp, 'srv/app/')]);
    execFileSync('cp', ['-a', join(python, 'usr'), tmp]);
    execFileSync('cp', ['-a', join(java, 'usr/share/java'), join(tmp, 'usr/share/')]);
    execFileSync('cp', ['-a', join(go, 'root/usr/local/bin'), join(tmp, 'usr/local/')]);
  });
}

describe('languageCatalogers', () => {
  it('exports the four language catalogers in order, each of kind language', () => {
    expect(languageCatalogers.map((c) => c.name)).toEqual(['npm', 'python', 'go-binary', 'java-archive']);
    expect(languageCatalogers).toEqual([npmCataloger, pythonCataloger, goCataloger, javaCataloger]);
    expect(languageCatalogers.every((c) => c.kind === 'language')).toBe(true);
    expect(goCataloger.selects).toBeTypeOf('function');
    expect(javaCataloger.globs).toEqual(['**/*.{jar,war,ear,jpi,hpi}']);
  });

  it('agrees with Trivy on npm, Python and Go dependency packages of a real root filesystem', async () => {
    const root = comboRoot();
    const trivy = JSON.parse(readFileSync(trivyRootfsPackages(root, 'lang-combo'), 'utf8')) as { components: CdxComponent[] };
    const typeOf = (c: CdxComponent): string | undefined => c.properties?.find((p) => p.name === 'aquasecurity:trivy:PkgType')?.value;
    const context = await directoryContext(root);
    const ours: Package[] = [];
    for (const cataloger of languageCatalogers) {
      const result = await cataloger.catalog(context);
      expect(result.issues, cataloger.name).toEqual([]);
      ours.push(...result.packages);
    }
    const purls = (type: Package['type']): string[] => [...new Set(ours.filter((p) => p.type === type).map((p) => p.purl))].sort();
    const trivyPurls = (type: string): string[] => [...new Set(trivy.components.filter((c) => typeOf(c) === type).map((c) => c.purl ?? ''))].sort();

    expect(purls('npm')).toEqual(trivyPurls('node-pkg'));
    expect(purls('npm').length).toBeGreaterThan(40);
    expect(purls('python')).toEqual(trivyPurls('python-pkg'));
    // Licenses: Trivy keeps one normalised name; ours are the declared ones, and must include Trivy's or its declared form.
    for (const component of trivy.components.filter((c) => typeOf(c) === 'node-pkg' || typeOf(c) === 'python-pkg')) {
      const mine = ours.find((p) => p.purl === component.purl);
      for (const license of component.licenses ?? []) {
        const name = license.license?.name ?? license.license?.id ?? license.expression ?? '';
        expect(mine?.licenses.some((l) => l === name || l.replace(/[ -]/g, '') === name.replace(/[ -]/g, '')), `${component.purl} ${name}`).toBe(true);
      }
    }
    // Go: this Trivy build lists dependencies only (it keeps `(devel)` where newer Trivy, and we, leave the version empty).
    const goDeps = ours.filter((p) => p.type === 'go-module' && !p.main && p.name !== 'stdlib').map((p) => `${p.name}@${p.version || '(devel)'}`);
    const trivyGo = trivy.components.filter((c) => typeOf(c) === 'gobinary').map((c) => `${c.name}@${c.version}`);
    expect([...new Set(goDeps)].sort()).toEqual([...new Set(trivyGo)].sort());
    expect(trivyGo.length).toBeGreaterThan(0);
  });
});
