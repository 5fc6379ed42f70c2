/** @module server — public surface: createApp(deps) (dashboard + JSON API as a hono app), its deps and limits, the upload scanner seam, the OpenAPI document. */
export { createApp, DEFAULT_LIMITS, imageNameFor, uploadSubject, type AppDeps, type ServerLimits } from './app.js';
export { libraryScanner, type ScanFile, type ServerScanOutcome } from './scanner.js';
export { openApiDocument } from './openapi.js';
export { problemFor, statusFor, PROBLEM_CONTENT_TYPE, type Problem } from './problem.js';
export { catalogRows, type CatalogRow, type ScanFigures, type ComplianceStatus } from './views.js';
export { complianceInput, triagePlanFor, vexDocument } from './extras.js';
