import { describe, expect, it } from 'vitest';
import { parsePurl } from '../../sbom/purl.js';
import type { SbomSubject } from '../../sbom/package.js';
import { imagePurl } from './image-purl.js';

const subject = (extra: Partial<SbomSubject>): SbomSubject => ({ reference: 'oci:out/nginx', transport: 'oci', layers: [], tags: [], ...extra });
const digest = 'sha256:10b79096838ec6ebab6058fdaea3044b0d2deeb6329229b418c08ea3340c1ba2';

describe('imagePurl', () => {
  it('uses the first tag for name and repository_url, the manifest digest as version, the platform as arch', () => {
    const purl = imagePurl(subject({ digest, tags: ['distill/nginx:latest', 'other:1'], platform: { os: 'linux', architecture: 'arm64' } }))!;
    expect(purl).toBe(`pkg:oci/nginx@${digest}?arch=arm64&repository_url=distill%2Fnginx`);
    expect(parsePurl(purl)).toMatchObject({ type: 'oci', name: 'nginx', version: digest, qualifiers: [['arch', 'arm64'], ['repository_url', 'distill/nginx']] });
  });

  it('keeps a registry port and drops tag or digest suffixes', () => {
    expect(imagePurl(subject({ tags: ['127.0.0.1:5000/team/Web:1.2'] }))).toBe('pkg:oci/web?repository_url=127.0.0.1%3A5000%2Fteam%2FWeb');
    expect(imagePurl(subject({ tags: [`reg.example/app@${digest}`] }))).toBe('pkg:oci/app?repository_url=reg.example%2Fapp');
  });

  it('without a tag names the image after its file or directory; without digest and tag there is no identity', () => {
    expect(imagePurl(subject({ digest, reference: 'docker-archive:/tmp/stock-nginx.tar' }))).toBe(`pkg:oci/stock-nginx@${digest}`);
    expect(imagePurl(subject({ digest, reference: 'oci:out/nginx:1.0' }))).toBe(`pkg:oci/nginx@${digest}`);
    expect(imagePurl(subject({}))).toBeUndefined();
  });
});
