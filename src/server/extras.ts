/** @module server/extras — sections other modules add to the image and scan pages (triage plan, OpenVEX), computed from a stored scan. */
import type { ComplianceRecord, ScanRecord } from '../storage/app-store.js';
import type { ImageExtras } from './pages/image-page.js';

export async function pageExtras(_record: ScanRecord | undefined, _compliance: ComplianceRecord | undefined, _now: Date): Promise<ImageExtras> {
  return {};
}

/** The OpenVEX document for a stored scan, or undefined when this build has no VEX generator. */
export async function vexDocument(_record: ScanRecord, _now: Date): Promise<string | undefined> {
  return undefined;
}
