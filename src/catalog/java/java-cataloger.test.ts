/** @module catalog/java/java-cataloger.test — Java cataloger against real Debian jars (oracle: `unzip -p … pom.properties`), a built war with nested jars, and hostile zips. */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cached } from '../../../test/helpers/oracles.js';
import { debianRoot, directoryContext, freshDir, run, removeFreshDirs } from '../../../test/fixtures/catalog-lang/lang-helpers.js';
import type { JavaPackage } from '../../sbom/package.js';
import { javaCataloger, mavenPurl, nameVersionFromFileName, parseManifest } from './java-cataloger.js';

/** The oracle: every pom.properties of a jar, read by unzip and parsed here independently. */
function unzipPoms(jar: string): string[] {
  const listing = run('unzip', ['-Z1', jar]).split('\n').filter((name) => /^META-INF\/maven\/.+\/pom\.properties$/.test(name));
  return listing.map((name) => {
    const text = run('unzip', ['-p', jar, name]);
    const get = (key: string): string => new RegExp(`^${key}=(.*)$`, 'm').exec(text)?.[1]?.trim() ?? '';
    return `${get('groupId')}:${get('artifactId')}@${get('version')}`;
  });
}

const coords = (p: JavaPackage): string => `${p.groupId ?? ''}:${p.artifactId ?? ''}@${p.version}`;

function javaDebs(): string {
  return debianRoot('java', ['libcommons-lang3-java', 'libcommons-io-java']);
}

/** A war holding the two Debian jars, a manifest-only jar and a chain of jars nested five deep. */
function builtWar(): string {
  return cached('lang-java-war', (tmp) => {
    const debs = javaDebs();
    const stage = join(tmp, 'stage');
    mkdirSync(join(stage, 'war/WEB-INF/lib'), { recursive: true });
    copyFileSync(join(debs, 'usr/share/java/commons-lang3.jar'), join(stage, 'war/WEB-INF/lib/commons-lang3-3.12.0.jar'));
    copyFileSync(join(debs, 'usr/share/java/commons-io.jar'), join(stage, 'war/WEB-INF/lib/commons-io-2.11.0.jar'));
    // l1-1.0.1.jar ⊃ l2-1.0.2.jar ⊃ … ⊃ l5-1.0.5.jar: depth 5 is beyond the limit of 4.
    let inner: string | undefined;
    for (let level = 5; level >= 1; level--) {
      const dir = join(stage, `l${level}`);
      mkdirSync(join(dir, 'data'), { recursive: true });
      writeFileSync(join(dir, 'data/level.txt'), `level ${level}\n`);
      if (inner !== undefined) copyFileSync(inner, join(dir, 'data', inner.split('/').pop() as string));
      const jar = join(stage, `l${level}-1.0.${level}.jar`);
      run('jar', ['--create', '--no-manifest', '--file', jar, '-C', dir, '.']);
      inner = jar;
    }
    copyFileSync(inner as string, join(stage, 'war/WEB-INF/lib/l1-1.0.1.jar'));
    writeFileSync(join(stage, 'manifest.txt'), 'Implementation-Title: Demo App\nImplementation-Version: 7.1.0\nImplementation-Vendor-Id: com.example\n');
    mkdirSync(tmp, { recursive: true });
    run('jar', ['--create', '--file', join(tmp, 'demo.war'), '--manifest', join(stage, 'manifest.txt'), '-C', join(stage, 'war'), '.']);
    run('rm', ['-rf', stage]);
  });
}

afterAll(removeFreshDirs);

describe('javaCataloger', () => {
  it('reads the Maven coordinates `unzip` finds in real Debian jars, skipping their versioned symlinks', async () => {
    const root = javaDebs();
    const result = await javaCataloger.catalog(await directoryContext(root));
    expect(result.issues).toEqual([]);
    const oracle = [...unzipPoms(join(root, 'usr/share/java/commons-lang3.jar')), ...unzipPoms(join(root, 'usr/share/java/commons-io.jar'))].sort();
    expect(oracle).toEqual(['commons-io:commons-io@2.11.0', 'org.apache.commons:commons-lang3@3.12.0']);
    expect((result.packages as JavaPackage[]).map(coords).sort()).toEqual(oracle);
    const lang = (result.packages as JavaPackage[]).find((p) => p.name === 'commons-lang3');
    expect(lang?.purl).toBe('pkg:maven/org.apache.commons/commons-lang3@3.12.0');
    expect(lang?.locations[0]?.path).toBe('/usr/share/java/commons-lang3.jar');
    expect(lang?.virtualPath).toBe('/usr/share/java/commons-lang3.jar');
    expect(lang?.id).toBe('pkg:maven/org.apache.commons/commons-lang3@3.12.0#/usr/share/java/commons-lang3.jar');
  });

  it('walks a war: its manifest, nested jars with virtual paths, and a depth limit', async () => {
    const war = builtWar();
    const root = freshDir('java-war');
    mkdirSync(join(root, 'opt/app'), { recursive: true });
    copyFileSync(join(war, 'demo.war'), join(root, 'opt/app/demo.war'));
    const result = await javaCataloger.catalog(await directoryContext(root));
    const byVirtual = Object.fromEntries((result.packages as JavaPackage[]).map((p) => [p.virtualPath, p.purl]));
    expect(byVirtual).toEqual({
      '/opt/app/demo.war': 'pkg:maven/com.example/demo@7.1.0',
      '/opt/app/demo.war!/WEB-INF/lib/commons-lang3-3.12.0.jar': 'pkg:maven/org.apache.commons/commons-lang3@3.12.0',
      '/opt/app/demo.war!/WEB-INF/lib/commons-io-2.11.0.jar': 'pkg:maven/commons-io/commons-io@2.11.0',
      '/opt/app/demo.war!/WEB-INF/lib/l1-1.0.1.jar': 'pkg:maven/l1/l1@1.0.1',
      '/opt/app/demo.war!/WEB-INF/lib/l1-1.0.1.jar!/data/l2-1.0.2.jar': 'pkg:maven/l2/l2@1.0.2',
      '/opt/app/demo.war!/WEB-INF/lib/l1-1.0.1.jar!/data/l2-1.0.2.jar!/data/l3-1.0.3.jar': 'pkg:maven/l3/l3@1.0.3',
      '/opt/app/demo.war!/WEB-INF/lib/l1-1.0.1.jar!/data/l2-1.0.2.jar!/data/l3-1.0.3.jar!/data/l4-1.0.4.jar': 'pkg:maven/l4/l4@1.0.4',
    });
    expect(result.packages.every((p) => p.locations[0]?.path === '/opt/app/demo.war')).toBe(true);
    expect(result.issues.map((i) => i.code)).toEqual(['NESTING_TOO_DEEP']);
    expect(result.issues[0]?.message).toContain('l5-1.0.5.jar');
    expect(result.issues[0]?.path).toBe('/opt/app/demo.war');
  });

  it('falls back to MANIFEST.MF and the file name when there is no pom.properties', async () => {
    const root = freshDir('java-manifest');
    mkdirSync(join(root, 'lib'), { recursive: true });
    const jar = join(root, 'lib/commons-lang3.jar');
    copyFileSync(join(javaDebs(), 'usr/share/java/commons-lang3.jar'), jar);
    run('zip', ['-qd', jar, 'META-INF/maven/*']);
    const result = await javaCataloger.catalog(await directoryContext(root));
    expect(result.issues).toEqual([]);
    expect(result.packages.map((p) => p.purl)).toEqual(['pkg:maven/org.apache.commons/commons-lang3@3.12.0']);
  });

  it('parses manifests with continuation lines, file names and purls', () => {
    const manifest = parseManifest('Manifest-Version: 1.0\r\nBundle-Description: Apache Commons Lang, a package of Java utility class\r\n es for the  classes\r\nImplementation-Version: 3.12.0\r\n\r\nName: org/x/\r\nImplementation-Version: 9\r\n');
    expect(manifest.get('Bundle-Description')).toBe('Apache Commons Lang, a package of Java utility classes for the  classes');
    expect(manifest.get('Implementation-Version')).toBe('3.12.0');
    expect(nameVersionFromFileName('commons-lang3-3.12.0.jar')).toEqual({ name: 'commons-lang3', version: '3.12.0' });
    expect(nameVersionFromFileName('guava-31.1-jre.jar')).toEqual({ name: 'guava', version: '31.1-jre' });
    expect(nameVersionFromFileName('spring-boot-starter-web-2.7.0-SNAPSHOT.jar')).toEqual({ name: 'spring-boot-starter-web', version: '2.7.0-SNAPSHOT' });
    expect(nameVersionFromFileName('app.war')).toEqual({ name: 'app' });
    expect(mavenPurl('org.example', 'x', '1.0')).toBe('pkg:maven/org.example/x@1.0');
  });

  it('turns truncated, bogus and bomb-like archives into issues without crashing', async () => {
    const root = freshDir('java-hostile');
    mkdirSync(join(root, 'lib'), { recursive: true });
    const real = readFileSync(join(javaDebs(), 'usr/share/java/commons-lang3.jar'));
    writeFileSync(join(root, 'lib/truncated-1.0.jar'), real.subarray(0, real.length >> 1));
    writeFileSync(join(root, 'lib/text-1.0.jar'), 'this is not a zip\n');
    // A nested jar whose central directory claims 4 GiB.
    const stage = freshDir('java-bomb');
    writeFileSync(join(stage, 'zeros.jar'), Buffer.alloc(1 << 20));
    run('zip', ['-q', join(stage, 'bomb.jar'), 'zeros.jar'], { cwd: stage });
    const bomb = readFileSync(join(stage, 'bomb.jar'));
    const central = bomb.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    bomb.writeUInt32LE(0xfffffff0, central + 24);
    writeFileSync(join(root, 'lib/huge-1.0.jar'), bomb);
    // A nested jar that inflates past its declared size.
    const liar = Buffer.from(readFileSync(join(stage, 'bomb.jar')));
    liar.writeUInt32LE(1000, liar.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])) + 24);
    liar.writeUInt32LE(1000, 22);
    writeFileSync(join(root, 'lib/liar-1.0.jar'), liar);
    const result = await javaCataloger.catalog(await directoryContext(root));
    const codes = result.issues.map((i) => `${i.path} ${i.code}`).sort();
    expect(codes).toEqual([
      '/lib/huge-1.0.jar FILE_TOO_LARGE',
      '/lib/liar-1.0.jar PARSE_FAILED',
      '/lib/text-1.0.jar PARSE_FAILED',
      '/lib/truncated-1.0.jar PARSE_FAILED',
    ]);
    // The bomb's outer jar is intact, so it is still reported by its name; the broken ones are not.
    expect(result.packages.map((p) => p.purl)).toEqual(['pkg:maven/huge/huge@1.0']);
  });
});
