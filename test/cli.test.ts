/** @module test/cli — `distill sbom` end to end as a user runs it: outputs, exit codes, hints, atomic files, determinism. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { multiPlatformLayout } from './fixtures/oci/fixtures.js';
import { smallImage } from './helpers/small-image.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Runs the CLI from source (no build needed), as `distill ARGS`. */
function distill(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 1 << 28,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('distill sbom', () => {
  const image = smallImage();
  const work = mkdtempSync(join(tmpdir(), 'distill-cli-'));

  it('prints a table with the image line, both packages and a summary', () => {
    const { status, stdout, stderr } = distill(['sbom', `docker-archive:${image}`]);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toContain(`docker-archive:${image}`);
    expect(lines[0]).toContain('Debian GNU/Linux 12 (bookworm)');
    expect(lines.some((line) => /^base-files\s+12\.4\+deb12u\d+\s+deb\s+amd64/.test(line))).toBe(true);
    expect(lines.some((line) => /^netbase\s+6\.4\s+deb\s+all/.test(line))).toBe(true);
    expect(lines.at(-1)).toBe('2 packages (deb 2), 2 source packages');
  });

  it('writes CycloneDX and SPDX that parse, and is byte-identical across runs with SOURCE_DATE_EPOCH', () => {
    const env = { SOURCE_DATE_EPOCH: '1700000000' };
    const first = distill(['sbom', image, '--format', 'cyclonedx-json'], env);
    const second = distill(['sbom', image, '--format', 'cyclonedx-json'], env);
    expect(first.status).toBe(0);
    expect(first.stdout).toBe(second.stdout);
    const bom = JSON.parse(first.stdout) as { bomFormat: string; specVersion: string; metadata: { timestamp: string }; components: { name: string; type: string }[] };
    expect(bom.bomFormat).toBe('CycloneDX');
    expect(bom.specVersion).toBe('1.6');
    expect(bom.metadata.timestamp).toBe('2023-11-14T22:13:20.000Z');
    expect(bom.components.filter((c) => c.type === 'library').map((c) => c.name).sort()).toEqual(['base-files', 'netbase']);
    expect(bom.components.find((c) => c.type === 'operating-system')?.name).toBe('debian');
    const spdx = JSON.parse(distill(['sbom', image, '-f', 'spdx-json'], env).stdout) as { spdxVersion: string; packages: { name: string }[] };
    expect(spdx.spdxVersion).toBe('SPDX-2.3');
    expect(spdx.packages.map((p) => p.name)).toEqual(expect.arrayContaining(['base-files', 'netbase']));
  });

  it('--output writes the file atomically and leaves no temp file behind', () => {
    const out = join(work, 'sbom.json');
    const { status, stdout } = distill(['sbom', image, '-f', 'json', '-o', out, '-q']);
    expect(status).toBe(0);
    expect(stdout).toBe('');
    expect((JSON.parse(readFileSync(out, 'utf8')) as { packages: unknown[] }).packages).toHaveLength(2);
    expect(readdirSync(work).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('--output to a device writes in place and leaves the device node alone', () => {
    const { status } = distill(['sbom', image, '-o', '/dev/null', '-q']);
    expect(status).toBe(0);
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
  });

  it('a failed run does not replace an existing output file', () => {
    const out = join(work, 'keep.json');
    writeFileSync(out, 'previous');
    const { status } = distill(['sbom', join(work, 'missing.tar'), '-o', out]);
    expect(status).toBe(3);
    expect(readFileSync(out, 'utf8')).toBe('previous');
  });

  it('--platform picks the image from a multi-platform index', () => {
    const layout = multiPlatformLayout();
    const arm = JSON.parse(distill(['sbom', `oci:${layout}:multi`, '--platform', 'linux/arm64', '-f', 'json']).stdout) as { subject: { platform: { architecture: string } } };
    const amd = JSON.parse(distill(['sbom', `oci:${layout}:multi`, '--platform', 'linux/amd64', '-f', 'json']).stdout) as { subject: { platform: { architecture: string } } };
    expect(arm.subject.platform.architecture).toBe('arm64');
    expect(amd.subject.platform.architecture).toBe('amd64');
    const missing = distill(['sbom', `oci:${layout}:multi`, '--platform', 'linux/s390x']);
    expect(missing.status).toBe(3);
    expect(missing.stderr).toMatch(/PLATFORM_NOT_FOUND/);
    expect(missing.stderr).toMatch(/linux\/amd64/);
  });

  it('bad input: one line with a stable code and a hint, exit 3, never a stack', () => {
    const corrupt = join(work, 'corrupt.tar');
    const bytes = readFileSync(image);
    writeFileSync(corrupt, bytes.subarray(0, Math.floor(bytes.length / 2)));
    for (const reference of [join(work, 'missing.tar'), corrupt, `docker-archive:${join(work, 'not-a-tar.txt')}`]) {
      if (reference.endsWith('.txt')) writeFileSync(reference.slice('docker-archive:'.length), 'hello');
      const { status, stderr } = distill(['sbom', reference]);
      expect(status, reference).toBe(3);
      expect(stderr, reference).toMatch(/^distill: .+ \[[A-Z_]+\]\n  hint: .+\n$/);
      expect(stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('usage errors exit 2; --help exits 0 and documents formats and exit codes', () => {
    expect(distill(['sbom', image, '--format', 'xml']).status).toBe(2);
    expect(distill(['sbom']).status).toBe(2);
    expect(distill(['sbom', image, '--platform', 'linux//']).status).toBe(2);
    expect(distill(['frobnicate']).status).toBe(2);
    const help = distill(['sbom', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('cyclonedx-json');
    expect(help.stdout).toContain('docker-archive:FILE');
    expect(distill(['--help']).stdout).toMatch(/Exit codes: 0 ok/);
    expect(existsSync(join(root, 'docs', 'sbom.md'))).toBe(true);
  });
});
