/** @module test/helpers/small-image — a small real two-layer docker-archive made from real Debian packages with dpkg-deb and GNU tar. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { cached } from './oracles.js';

const PACKAGES = ['base-files', 'netbase'];

/** Real .debs fetched with `apt-get download` (cached). */
export function smallImageDebs(): string {
  return cached('debs-small-image', (tmp) => {
    mkdirSync(tmp, { recursive: true });
    execFileSync('apt-get', ['download', ...PACKAGES], { cwd: tmp, stdio: 'ignore' });
  });
}

function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** A status paragraph exactly as dpkg writes it: the control fields plus `Status: install ok installed`. */
function statusParagraph(deb: string): string {
  const control = execFileSync('dpkg-deb', ['-f', deb], { encoding: 'utf8' }).trimEnd();
  const lines = control.split('\n');
  lines.splice(1, 0, 'Status: install ok installed');
  return `${lines.join('\n')}\n`;
}

/**
 * Layer 1: base-files and a status listing it. Layer 2: netbase, a status listing both, and a whiteout of
 * /etc/issue.net. Returns the path of a docker-archive (`docker save` layout: manifest.json, config, layers).
 */
export function smallImage(): string {
  return cached('small-image.tar', (tmp) => {
    const debsDir = smallImageDebs();
    const debs = readdirSync(debsDir).filter((name) => name.endsWith('.deb')).sort().map((name) => join(debsDir, name));
    const work = `${tmp}.work`;
    const layers: Buffer[] = [];
    const status: string[] = [];
    for (const [index, deb] of debs.entries()) {
      const root = join(work, `layer${index}`);
      mkdirSync(join(root, 'var/lib/dpkg'), { recursive: true });
      execFileSync('dpkg-deb', ['-x', deb, root]);
      status.push(statusParagraph(deb));
      writeFileSync(join(root, 'var/lib/dpkg/status'), status.join('\n'));
      if (index === 1) writeFileSync(join(root, 'etc/.wh.issue.net'), '');
      layers.push(execFileSync('tar', ['--sort=name', '--numeric-owner', '--owner=0', '--group=0', '-C', root, '-cf', '-', '.'], { maxBuffer: 1 << 28 }));
    }
    const archiveRoot = join(work, 'archive');
    mkdirSync(archiveRoot, { recursive: true });
    const layerNames = layers.map((layer, index) => {
      const name = `layer${index}.tar.gz`;
      writeFileSync(join(archiveRoot, name), gzipSync(layer));
      return name;
    });
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { User: '65532', Cmd: ['/bin/true'] },
        rootfs: { type: 'layers', diff_ids: layers.map(sha256) },
        history: layers.map(() => ({ created_by: 'test/helpers/small-image.ts' })),
      }),
    );
    const configName = `${sha256(config).slice(7)}.json`;
    writeFileSync(join(archiveRoot, configName), config);
    writeFileSync(join(archiveRoot, 'manifest.json'), JSON.stringify([{ Config: configName, RepoTags: ['small:test'], Layers: layerNames }]));
    execFileSync('tar', ['--sort=name', '-C', archiveRoot, '-cf', tmp, '.']);
    execFileSync('rm', ['-rf', work]);
  });
}
