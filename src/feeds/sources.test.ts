import { describe, expect, it } from 'vitest';
import { isDistillError } from '../errors.js';
import { DEFAULT_FEED_URLS, nvdPageUrl, osvEcosystemUrl, planDownloads, resolveFeedUrls } from './sources.js';

describe('sources', () => {
  it('documented defaults', () => {
    expect(DEFAULT_FEED_URLS.epss).toBe('https://epss.empiricalsecurity.com/epss_scores-current.csv.gz');
    expect(osvEcosystemUrl('crates.io')).toBe('https://osv-vulnerabilities.storage.googleapis.com/crates.io/all.zip');
    expect(nvdPageUrl(DEFAULT_FEED_URLS.nvdApi, 4000)).toBe('https://services.nvd.nist.gov/rest/json/cves/2.0?startIndex=4000&resultsPerPage=2000');
    expect(() => nvdPageUrl(DEFAULT_FEED_URLS.nvdApi, 0, 2001)).toThrow(/resultsPerPage/);
  });

  it('flags override the env object, which overrides the defaults; non-http URLs are USAGE errors', () => {
    const urls = resolveFeedUrls({ kev: 'http://mirror.local/kev.json' }, { DISTILL_KEV_URL: 'http://env/kev.json', DISTILL_EPSS_URL: 'http://env/epss.csv.gz', DISTILL_NVD_URL: ' ' });
    expect(urls.kev).toBe('http://mirror.local/kev.json');
    expect(urls.epss).toBe('http://env/epss.csv.gz');
    expect(urls.nvdApi).toBe(DEFAULT_FEED_URLS.nvdApi);
    let error: unknown;
    try {
      resolveFeedUrls({ osvBase: 'file:///etc/passwd' });
    } catch (e) {
      error = e;
    }
    expect(isDistillError(error, 'USAGE')).toBe(true);
  });

  it('plans one file per feed, OSV ecosystem and Alpine release/repository', () => {
    const plan = planDownloads(DEFAULT_FEED_URLS, { ecosystems: ['PyPI', 'npm'], alpineReleases: ['v3.20'] });
    expect(plan.map((p) => `${p.feed} ${p.url} ${p.fileName}`)).toEqual([
      'debian-tracker https://security-tracker.debian.org/tracker/data/json debian-tracker.json',
      'alpine-secdb https://secdb.alpinelinux.org/v3.20/main.json alpine-secdb-v3.20-main.json',
      'alpine-secdb https://secdb.alpinelinux.org/v3.20/community.json alpine-secdb-v3.20-community.json',
      'osv https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip osv-PyPI-all.zip',
      'osv https://osv-vulnerabilities.storage.googleapis.com/npm/all.zip osv-npm-all.zip',
      'epss https://epss.empiricalsecurity.com/epss_scores-current.csv.gz epss_scores-current.csv.gz',
      'kev https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json known_exploited_vulnerabilities.json',
    ]);
  });
});
