/** @module test/helpers/bad-image — a deliberately non-compliant docker-archive: stock nginx's layer, a layer adding a setuid binary, a private key and AWS credentials, and a later layer deleting the secrets. */
import { execFile } from 'node:child_process';
import { createHash, generateKeyPairSync, randomInt } from 'node:crypto';
import { chmod, copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cachedAsync, stockImage } from './oracles.js';

const run = promisify(execFile);

export interface PlantedSecrets {
  /** PEM text of the private key written to /root/.ssh/id_rsa. */
  privateKey: string;
  awsAccessKeyId: string;
  awsSecretAccessKey: string;
  /** Value of the DB_PASSWORD environment variable. */
  dbPassword: string;
  /** Value of the `ci.token` label (a GitHub token shape). */
  githubToken: string;
}

export interface BadImage {
  archive: string;
  secrets: PlantedSecrets;
  /** Paths planted in layer 1; layer 2 deletes the two secret files with whiteouts. */
  paths: { privateKey: string; awsCredentials: string; setuid: string };
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const pick = (alphabet: string, n: number) => Array.from({ length: n }, () => alphabet[randomInt(alphabet.length)]).join('');
const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

const PATHS = { privateKey: '/root/.ssh/id_rsa', awsCredentials: '/app/.aws/credentials', setuid: '/usr/local/bin/escalate' };

async function tarOf(root: string, out: string): Promise<Buffer> {
  await run('tar', ['--sort=name', '--numeric-owner', '--owner=0', '--group=0', '--mtime=@0', '-C', root, '-cf', out, '.']);
  return readFile(out);
}

/**
 * Layer 0: stock nginx (root, bash, dash, curl and apt as dpkg packages with their files, setuid su/passwd/mount).
 * Layer 1: /usr/local/bin/escalate (mode 4755), /root/.ssh/id_rsa (a fresh RSA key), /app/.aws/credentials.
 * Layer 2: whiteouts of both secret files. Config: no User, no Healthcheck, DB_PASSWORD in Env, a GitHub token label.
 */
export async function badImage(): Promise<BadImage> {
  const stock = stockImage('nginx');
  const dir = await cachedAsync('comply-bad-image-v1', async (tmp) => {
    const work = `${tmp}.work`;
    await rm(work, { recursive: true, force: true });
    await mkdir(join(work, 'archive'), { recursive: true });
    const manifest = JSON.parse((await run('tar', ['-xOf', stock, 'manifest.json'], { maxBuffer: 1 << 20 })).stdout) as { Config: string; Layers: string[] }[];
    const stockConfig = JSON.parse((await run('tar', ['-xOf', stock, manifest[0]!.Config], { maxBuffer: 1 << 24 })).stdout) as {
      config: { Env?: string[]; Labels?: Record<string, string>; [key: string]: unknown };
      rootfs: { diff_ids: string[] };
      history: unknown[];
      [key: string]: unknown;
    };
    await run('tar', ['-xf', stock, '-C', join(work, 'archive'), manifest[0]!.Layers[0]!]);

    const secrets: PlantedSecrets = {
      privateKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
      awsAccessKeyId: `AKIA${pick(BASE32, 16)}`,
      awsSecretAccessKey: pick(`${ALNUM}/+`, 40),
      dbPassword: `pw-${pick(ALNUM, 12)}`,
      githubToken: `ghp_${pick(ALNUM, 36)}`,
    };
    const add = join(work, 'layer1');
    await mkdir(join(add, 'root/.ssh'), { recursive: true });
    await mkdir(join(add, 'app/.aws'), { recursive: true });
    await mkdir(join(add, 'usr/local/bin'), { recursive: true });
    await writeFile(join(add, PATHS.privateKey), secrets.privateKey, { mode: 0o600 });
    await writeFile(join(add, PATHS.awsCredentials), `[default]\naws_access_key_id = ${secrets.awsAccessKeyId}\naws_secret_access_key = ${secrets.awsSecretAccessKey}\n`);
    await copyFile('/usr/bin/true', join(add, PATHS.setuid));
    await chmod(join(add, PATHS.setuid), 0o4755);
    const remove = join(work, 'layer2');
    await mkdir(join(remove, 'root/.ssh'), { recursive: true });
    await mkdir(join(remove, 'app/.aws'), { recursive: true });
    await writeFile(join(remove, 'root/.ssh/.wh.id_rsa'), '');
    await writeFile(join(remove, 'app/.aws/.wh.credentials'), '');
    await mkdir(join(work, 'archive/l1'));
    await mkdir(join(work, 'archive/l2'));
    const l1 = await tarOf(add, join(work, 'archive/l1/layer.tar'));
    const l2 = await tarOf(remove, join(work, 'archive/l2/layer.tar'));

    const inner = { ...stockConfig.config };
    delete inner.User;
    delete inner.Healthcheck;
    const config = Buffer.from(JSON.stringify({
      ...stockConfig,
      config: { ...inner, Env: [...(stockConfig.config.Env ?? []), `DB_PASSWORD=${secrets.dbPassword}`], Labels: { ...(stockConfig.config.Labels ?? {}), 'ci.token': secrets.githubToken } },
      rootfs: { type: 'layers', diff_ids: [...stockConfig.rootfs.diff_ids, sha256(l1), sha256(l2)] },
      history: [...stockConfig.history, { created_by: 'COPY id_rsa credentials escalate (test/helpers/bad-image.ts)' }, { created_by: 'RUN rm /root/.ssh/id_rsa /app/.aws/credentials' }],
    }));
    const configName = `${sha256(config).slice(7)}.json`;
    await writeFile(join(work, 'archive', configName), config);
    await writeFile(join(work, 'archive/manifest.json'), JSON.stringify([{ Config: configName, RepoTags: ['bad/app:latest'], Layers: [manifest[0]!.Layers[0]!, 'l1/layer.tar', 'l2/layer.tar'] }]));
    await mkdir(tmp);
    await run('tar', ['-C', join(work, 'archive'), '-cf', join(tmp, 'image.tar'), '.']);
    await writeFile(join(tmp, 'secrets.json'), JSON.stringify(secrets));
    await rm(work, { recursive: true, force: true });
  });
  return { archive: join(dir, 'image.tar'), secrets: JSON.parse(await readFile(join(dir, 'secrets.json'), 'utf8')) as PlantedSecrets, paths: PATHS };
}

/** A docker-archive from layer directories (GNU tar, one uncompressed layer each) and an image config body. */
export async function layeredArchive(out: string, roots: readonly string[], config: Record<string, unknown>, options: { diffIds?: string[] } = {}): Promise<string> {
  const work = `${out}.work`;
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const names: string[] = [];
  const diffIds: string[] = [];
  for (const [index, root] of roots.entries()) {
    await mkdir(join(work, `l${index}`));
    diffIds.push(sha256(await tarOf(root, join(work, `l${index}`, 'layer.tar'))));
    names.push(`l${index}/layer.tar`);
  }
  const body = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', ...config, rootfs: { type: 'layers', diff_ids: options.diffIds ?? diffIds } }));
  const configName = `${sha256(body).slice(7)}.json`;
  await writeFile(join(work, configName), body);
  await writeFile(join(work, 'manifest.json'), JSON.stringify([{ Config: configName, RepoTags: ['layered/test:1.0'], Layers: names }]));
  await run('tar', ['-C', work, '-cf', out, '.']);
  await rm(work, { recursive: true, force: true });
  return out;
}
