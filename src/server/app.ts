/** @module server/app — createApp(deps): the dashboard and JSON API as a hono app (tests call it in-process or over a loopback listener). */
import { getConnInfo } from '@hono/node-server/conninfo';
import { Hono, type Context } from 'hono';
import { cors } from 'hono/cors';
import { DistillError, isDistillError } from '../errors.js';
import { encodeScanReport, isScanFormat } from '../report/formats/index.js';
import { encodeSbom } from '../sbom/formats/index.js';
import type { Sbom } from '../sbom/package.js';
import type { AppStore, ScanRecord, ScanRole } from '../storage/app-store.js';
import type { ScanReport } from '../report/scan-report.js';
import { complyImage, type ComplianceReport } from '../compliance/comply.js';
import { openApiDocument } from './openapi.js';
import { comparePage } from './pages/compare-page.js';
import { catalogPage } from './pages/catalog-page.js';
import { imagePage, scanPage } from './pages/image-page.js';
import { trendPage } from './pages/trend-page.js';
import { UPLOAD_SCRIPT, uploadPage } from './pages/upload-page.js';
import { IMAGE_NAME, Params, ROLES, EVENT_KINDS } from './params.js';
import { problemFor, problemResponse } from './problem.js';
import { RateLimiter } from './rate-limit.js';
import { libraryScanner, type ScanFile } from './scanner.js';
import { discard, receiveUpload } from './upload.js';
import { catalogRows, type CatalogRow, compareView, headerOf, imageView, notFound, prioritize, requireImage, requireScan, trendView } from './views.js';
import { complianceInput, pageExtras, triagePlanFor, vexDocument } from './extras.js';

export interface ServerLimits {
  /** Largest accepted upload (docker/OCI archive or SBOM), in bytes. Default 512 MiB. */
  maxUploadBytes: number;
  /** Sustained requests per minute per client (by remote address). Default 600. */
  requestsPerMinute: number;
  /** Requests a client may make at once before the rate applies. Default requestsPerMinute / 4. */
  burst?: number;
  /** Longest accepted request URL, in characters. Default 4096. */
  maxUrlLength: number;
}

export const DEFAULT_LIMITS: ServerLimits = { maxUploadBytes: 512 * 1024 * 1024, requestsPerMinute: 600, maxUrlLength: 4096 };

export interface AppDeps {
  store: AppStore;
  /** Uploads are streamed to `<dataDir>/uploads/<random>/` and removed after the scan. */
  dataDir: string;
  /** How uploads are scanned; default: the library against `vulnDbPath`. */
  scan?: ScanFile;
  /** How uploaded images are checked for compliance (CIS Docker 1.6 §4 with evidence); default src/compliance's complyImage. */
  comply?: (path: string) => Promise<ComplianceReport>;
  /** Vulnerability DB for the default scanner. Without it (and without `scan`) uploads answer 503 DB_NOT_FOUND. */
  vulnDbPath?: string;
  now?: () => Date;
  limits?: Partial<ServerLimits>;
  /** Origins allowed to call the API from a browser; CORS is off when empty (the default). */
  corsOrigins?: readonly string[];
  /** Version shown in the OpenAPI document and stored with scans. */
  version?: string;
  /**
   * How long one computed catalog (every image's figures) is served before it is recomputed, in ms; requests in
   * that window share it, and this server's own uploads clear it. 0 recomputes on every request. Default 2000.
   */
  catalogTtlMs?: number;
  /** Rate-limit key of a request; default the remote address (in-process requests share one key). */
  clientKey?: (c: Context) => string;
  /** Unexpected errors go here (the CLI prints them); responses never carry internals. */
  onError?: (error: unknown) => void;
}

function remoteAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'local';
  }
}

function bearer(header: string | undefined): string | undefined {
  const match = /^Bearer ([A-Za-z0-9._~+\/=-]{1,512})$/.exec(header ?? '');
  return match?.[1];
}

/** A client file name as a display subject: its last path component, printable characters only, bounded. */
export function uploadSubject(filename: string | undefined): string {
  const base = (filename ?? '').split(/[\\/]/).pop() ?? '';
  const clean = base.replace(/[^\x20-\x7e]/g, '').trim().slice(0, 120);
  return clean === '' || clean === '.' || clean === '..' ? 'upload' : clean;
}

/** The image an upload is filed under when none is named: the file name without extensions, as an image name. */
export function imageNameFor(subject: string): string {
  const stem = subject.toLowerCase().replace(/\.(tar|json|cdx|spdx|sbom|oci|docker)$/g, '').replace(/\.(tar|json|cdx|spdx|sbom|oci|docker)$/g, '');
  const name = stem.replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 100);
  return name === '' ? 'upload' : name;
}

function withSubject<T extends { subject: Sbom['subject'] }>(doc: T, reference: string): T {
  return { ...doc, subject: { ...doc.subject, reference, transport: 'upload' } };
}

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

export function createApp(deps: AppDeps): Hono {
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...deps.limits };
  const now = deps.now ?? (() => new Date());
  const version = deps.version ?? '0.0.0';
  const scan: ScanFile | undefined = deps.scan ?? (deps.vulnDbPath !== undefined ? libraryScanner({ vulnDbPath: deps.vulnDbPath, now, tool: { name: 'distill', version } }) : undefined);
  const limiter = new RateLimiter({ perMinute: limits.requestsPerMinute, ...(limits.burst !== undefined ? { burst: limits.burst } : {}) });
  const clientKey = deps.clientKey ?? remoteAddress;
  const store = deps.store;
  const catalogTtl = deps.catalogTtlMs ?? 2000;
  let catalogCache: { at: number; rows: Promise<CatalogRow[]> } | undefined;
  const catalog = (): Promise<CatalogRow[]> => {
    const at = Date.now();
    if (catalogCache !== undefined && at - catalogCache.at < catalogTtl) return catalogCache.rows;
    const rows = catalogRows(store);
    if (catalogTtl > 0) {
      const entry = { at, rows };
      catalogCache = entry;
      rows.catch(() => {
        if (catalogCache === entry) catalogCache = undefined;
      });
    }
    return rows;
  };
  const comply = deps.comply ?? ((path: string) => complyImage(path));
  const app = new Hono();
  /** The scan a VEX document or triage plan is weighed against: the named one, else the image's other side (stock ↔ minimal). */
  const counterpart = async (record: ScanRecord, named: string | undefined, role: ScanRole): Promise<ScanRecord | undefined> => {
    if (named !== undefined) return requireScan(store, named);
    if (record.image === undefined) return undefined;
    const [latest] = await store.listScans({ image: record.image, role, limit: 1 });
    return latest === undefined ? undefined : store.getScan(latest.id);
  };

  app.onError((error, c) => {
    const problem = problemFor(error, new URL(c.req.url).pathname);
    if (problem.code === 'INTERNAL') deps.onError?.(error);
    return problemResponse(problem);
  });
  app.notFound((c) => problemResponse(problemFor(new DistillError('NOT_FOUND', `no route ${c.req.method} ${new URL(c.req.url).pathname}`), new URL(c.req.url).pathname)));

  app.use('*', async (c, next) => {
    if (c.req.url.length > limits.maxUrlLength) throw new DistillError('USAGE', `the request URL is longer than ${limits.maxUrlLength} characters`, { subject: 'url' });
    const decision = limiter.take(clientKey(c));
    if (!decision.allowed) {
      const problem = problemFor(new DistillError('RATE_LIMITED', `too many requests; retry in ${decision.retryAfterSeconds} s`), new URL(c.req.url).pathname);
      return problemResponse(problem, { 'retry-after': String(decision.retryAfterSeconds) });
    }
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(name, value);
  });
  if (deps.corsOrigins && deps.corsOrigins.length > 0) app.use('/api/*', cors({ origin: [...deps.corsOrigins], allowHeaders: ['Authorization', 'Content-Type'], allowMethods: ['GET', 'POST'] }));

  // Writes need a token; reads are open.
  app.use('/api/*', async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD' || c.req.method === 'OPTIONS') return next();
    const secret = bearer(c.req.header('authorization'));
    const token = secret === undefined ? undefined : await store.verifyToken(secret);
    if (token === undefined) {
      await c.req.raw.body?.cancel().catch(() => undefined);
      throw new DistillError('UNAUTHORIZED', secret === undefined ? 'this request needs an API token (Authorization: Bearer TOKEN)' : 'the API token is not valid');
    }
    return next();
  });

  const params = (c: Context): Params => new Params(new URL(c.req.url).searchParams);
  const imageParam = (c: Context): string => {
    const name = c.req.param('name') ?? '';
    if (!IMAGE_NAME.test(name)) throw notFound('image', name);
    return name;
  };
  const idParam = (c: Context): string => {
    const id = c.req.param('id') ?? '';
    if (!/^[A-Za-z0-9._:-]{1,100}$/.test(id)) throw notFound('scan', id);
    return id;
  };

  // ---- API ----
  app.get('/api/openapi.json', (c) => c.json(openApiDocument(version)));
  app.get('/api/catalog', async (c) => c.json(await catalog()));
  app.get('/api/images', async (c) => c.json(await store.listImages()));
  app.get('/api/images/:name', async (c) => c.json(await requireImage(store, imageParam(c))));
  app.get('/api/images/:name/builds', async (c) => {
    const p = params(c);
    const name = imageParam(c);
    await requireImage(store, name);
    const limit = p.int('limit', 1, 1000);
    const before = p.time('before');
    return c.json(await store.listBuilds(name, { ...(limit !== undefined ? { limit } : {}), ...(before !== undefined ? { before } : {}) }));
  });
  app.get('/api/images/:name/compliance', async (c) => {
    const p = params(c);
    const name = imageParam(c);
    await requireImage(store, name);
    const framework = p.string('framework');
    const record = await store.latestCompliance(name, framework);
    if (record === undefined) throw notFound('compliance run for image', name);
    return c.json(record);
  });
  app.get('/api/builds/:id', async (c) => {
    const id = idParam(c);
    const build = await store.getBuild(id);
    if (build === undefined) throw notFound('build', id);
    return c.json(build);
  });
  app.get('/api/scans', async (c) => {
    const p = params(c);
    const image = p.image();
    const role = p.oneOf<ScanRole>('role', ROLES);
    const limit = p.int('limit', 1, 1000);
    const before = p.time('before');
    return c.json(await store.listScans({ ...(image ? { image } : {}), ...(role ? { role } : {}), ...(limit !== undefined ? { limit } : {}), ...(before ? { before } : {}) }));
  });
  app.get('/api/scans/:id', async (c) => c.json(headerOf(await requireScan(store, idParam(c)))));
  app.get('/api/scans/:id/findings', async (c) => {
    const q = params(c).findingQuery();
    const id = idParam(c);
    await requireScan(store, id);
    return c.json(prioritize(await store.listFindings(id, q)));
  });
  app.get('/api/scans/:id/report', async (c) => {
    const format = params(c).oneOf('format', ['json', 'sarif', 'cyclonedx-json'] as const) ?? 'json';
    const record = await requireScan(store, idParam(c));
    if (!isScanFormat(format)) throw new DistillError('FORMAT_UNKNOWN', `unknown report format ${format}`);
    return download(c, encodeScanReport(record.report, format, { sbom: record.sbom }), `scan-${record.id}.${format === 'sarif' ? 'sarif' : format === 'json' ? 'json' : 'cdx.json'}`);
  });
  app.get('/api/scans/:id/sbom', async (c) => {
    const format = params(c).oneOf('format', ['cyclonedx-json', 'spdx-json', 'json'] as const) ?? 'cyclonedx-json';
    const record = await requireScan(store, idParam(c));
    return download(c, encodeSbom(record.sbom, format), `sbom-${record.id}.${format === 'spdx-json' ? 'spdx.json' : format === 'json' ? 'json' : 'cdx.json'}`);
  });
  app.get('/api/scans/:id/vex', async (c) => {
    const named = params(c).id('against');
    const record = await requireScan(store, idParam(c));
    const against = record.role === 'stock' ? undefined : await counterpart(record, named, 'stock');
    return download(c, vexDocument(record, against, now(), version), `vex-${record.id}.openvex.json`);
  });
  app.get('/api/scans/:id/triage', async (c) => {
    const named = params(c).id('replacement');
    const record = await requireScan(store, idParam(c));
    const replacement = record.role === 'stock' || named !== undefined ? await counterpart(record, named, 'minimal') : undefined;
    return c.json(triagePlanFor(record, replacement));
  });
  app.get('/api/compare', async (c) => {
    const p = params(c);
    const a = p.id('a');
    const b = p.id('b');
    if (a === undefined || b === undefined) throw new DistillError('USAGE', 'compare needs two scan ids: ?a=SCAN&b=SCAN', { subject: 'a,b' });
    return c.json((await compareView(store, a, b)).comparison);
  });
  app.get('/api/trend', async (c) => {
    const p = params(c);
    const image = p.image();
    const role = p.oneOf<ScanRole>('role', ROLES);
    const since = p.time('since');
    return c.json(await store.trend({ ...(image ? { image } : {}), ...(role ? { role } : {}), ...(since ? { since } : {}) }));
  });
  app.get('/api/events', async (c) => {
    const p = params(c);
    const image = p.image();
    const kind = p.oneOf('kind', EVENT_KINDS);
    const limit = p.int('limit', 1, 1000);
    const before = p.time('before');
    return c.json(await store.listEvents({ ...(image ? { image } : {}), ...(kind ? { kind } : {}), ...(limit !== undefined ? { limit } : {}), ...(before ? { before } : {}) }));
  });

  app.post('/api/scans', async (c) => {
    const p = params(c);
    const subject = uploadSubject(p.text('filename'));
    const image = p.image() ?? imageNameFor(subject);
    const role = p.oneOf<ScanRole>('role', ROLES) ?? 'upload';
    if (scan === undefined) {
      await c.req.raw.body?.cancel().catch(() => undefined);
      throw new DistillError('DB_NOT_FOUND', 'this server has no vulnerability database to scan uploads with', { hint: 'start `distill serve` with --db PATH (or run `distill db update` first)' });
    }
    const declared = c.req.header('content-length');
    const upload = await receiveUpload(c.req.raw.body, { dataDir: deps.dataDir, maxBytes: limits.maxUploadBytes, ...(declared !== undefined && /^\d+$/.test(declared) ? { declaredLength: Number(declared) } : {}) });
    try {
      const reference = `upload:${subject}`;
      let outcome;
      try {
        outcome = await scan(upload.path, upload.kind);
      } catch (error) {
        // The client sees its own file name, never the server's temp path, and a hint about uploads, not CLI references.
        if (!isDistillError(error)) throw error;
        const message = error.message.split(upload.path).join(reference).split(upload.dir).join('(upload)');
        throw new DistillError(error.code, message, { subject: reference, cause: error, hint: 'send a docker-archive (docker/podman save) or OCI archive as an uncompressed .tar, or a CycloneDX/SPDX JSON SBOM' });
      }
      let compliance: ComplianceReport | undefined;
      if (upload.kind === 'image') {
        try {
          compliance = await comply(upload.path);
        } catch (error) {
          // The scan stands on its own; a compliance failure is reported, not fatal to the upload.
          deps.onError?.(error);
        }
      }
      const sbom = withSubject(outcome.sbom, reference);
      const report: ScanReport = withSubject(outcome.report, reference);
      if ((await store.getImage(image)) === undefined) await store.upsertImage({ name: image });
      const header = await store.addScan({
        image,
        role,
        subject: reference,
        ...(sbom.subject.digest !== undefined ? { digest: sbom.subject.digest } : {}),
        report,
        sbom,
        dbDigest: outcome.dbDigest,
        reason: 'upload',
      });
      if (compliance !== undefined) await store.addCompliance(complianceInput({ ...compliance, subject: { ...compliance.subject, reference } }, image, header.id));
      await store.addEvent({ kind: 'scan', image, message: `scanned upload ${subject}: ${header.summary.total} findings, ${header.summary.kev} in KEV`, details: { scanId: header.id, bytes: upload.bytes, kind: upload.kind } });
      catalogCache = undefined;
      c.header('location', `/api/scans/${encodeURIComponent(header.id)}`);
      return c.json(header, 201);
    } finally {
      await discard(upload);
    }
  });

  // ---- Dashboard ----
  app.get('/assets/upload.js', (c) => c.body(UPLOAD_SCRIPT, 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'max-age=300' }));
  // The rendered page is kept with the rows it was rendered from (one 1,000-image page is about a megabyte of HTML).
  let rendered: { rows: CatalogRow[]; pages: Map<string, string> } | undefined;
  app.get('/', async (c) => {
    const p = params(c);
    const q = p.text('q');
    const page = p.int('page', 1, 1_000_000);
    const rows = await catalog();
    if (rendered?.rows !== rows) rendered = { rows, pages: new Map() };
    const key = `${page ?? 1}\0${q ?? ''}`;
    let text = rendered.pages.get(key);
    if (text === undefined) {
      text = catalogPage(rows, { ...(q !== undefined ? { q } : {}), ...(page !== undefined ? { page } : {}) });
      // Bounded: search strings are client-chosen.
      if (rendered.pages.size < 200) rendered.pages.set(key, text);
    }
    return c.html(text);
  });
  app.get('/images/:name', async (c) => {
    const q = params(c).findingQuery();
    const view = await imageView(store, imageParam(c), q);
    const record = view.minimal ? await store.getScan(view.minimal.id) : undefined;
    const against = record !== undefined && record.role !== 'stock' ? await counterpart(record, undefined, 'stock') : undefined;
    return c.html(imagePage(view, pageExtras(record, view.compliance, against)));
  });
  app.get('/scans/:id', async (c) => {
    const q = params(c).findingQuery();
    const record = await requireScan(store, idParam(c));
    const findings = prioritize(await store.listFindings(record.id, { limit: 500, ...q }));
    const against = record.role !== 'stock' ? await counterpart(record, undefined, 'stock') : undefined;
    return c.html(scanPage(headerOf(record), findings, q, pageExtras(record, undefined, against)));
  });
  app.get('/trend', async (c) => {
    const p = params(c);
    const image = p.image();
    const role = p.oneOf<ScanRole>('role', ROLES) ?? 'minimal';
    const [points, images] = await Promise.all([store.trend({ role, ...(image ? { image } : {}) }), store.listImages()]);
    return c.html(trendPage(trendView(points, role), images.map((i) => i.name), image));
  });
  app.get('/compare', async (c) => {
    const p = params(c);
    const a = p.id('a');
    const b = p.id('b');
    const scans = await store.listScans({ limit: 200 });
    const view = a !== undefined && b !== undefined ? await compareView(store, a, b) : undefined;
    const defaults = { a: a ?? scans.find((s) => s.role === 'stock')?.id ?? scans[1]?.id, b: b ?? scans.find((s) => s.role === 'minimal')?.id ?? scans[0]?.id };
    return c.html(comparePage(scans, view, defaults));
  });
  app.get('/upload', (c) => c.html(uploadPage(limits.maxUploadBytes)));
  return app;
}

function download(c: Context, body: string, filename: string): Response {
  return c.body(body, 200, { 'content-type': 'application/json; charset=utf-8', 'content-disposition': `attachment; filename="${filename.replace(/[^A-Za-z0-9._-]/g, '_')}"` });
}
