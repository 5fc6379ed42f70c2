/** @module compliance/frameworks — the three ways results are grouped: CIS Docker 1.6 §4, NIST SP 800-190 §4.1 countermeasures, NIST SP 800-53 rev 5 controls. */
import { DistillError } from '../errors.js';
import type { CheckResult, CheckStatus } from './checks.js';

export const FRAMEWORKS = ['cis-docker-1.6', 'nist-800-190', 'nist-800-53'] as const;
export type Framework = (typeof FRAMEWORKS)[number];

export const FRAMEWORK_TITLES: Record<Framework, string> = {
  'cis-docker-1.6': 'CIS Docker Benchmark 1.6, section 4 (container images and build file) and image checks',
  'nist-800-190': 'NIST SP 800-190, section 4.1 image countermeasures',
  'nist-800-53': 'NIST SP 800-53 rev 5 controls',
};

/** NIST SP 800-190 §4.1 subsections (image risks and their countermeasures). */
export const NIST_800_190_SECTIONS: Record<string, string> = {
  '4.1.1': 'Image vulnerabilities',
  '4.1.2': 'Image configuration defects',
  '4.1.3': 'Embedded malware',
  '4.1.4': 'Embedded clear text secrets',
  '4.1.5': 'Use of untrusted images',
};

/** The NIST SP 800-53 rev 5 controls the checks map to. */
export const NIST_800_53_CONTROLS: Record<string, string> = {
  'AC-2': 'Account Management',
  'AC-6': 'Least Privilege',
  'CM-2': 'Baseline Configuration',
  'CM-6': 'Configuration Settings',
  'CM-7': 'Least Functionality',
  'CM-8': 'System Component Inventory',
  'CM-11': 'User-installed Software',
  'CM-14': 'Signed Components',
  'IA-2': 'Identification and Authentication (Organizational Users)',
  'IA-5': 'Authenticator Management',
  'RA-5': 'Vulnerability Monitoring and Scanning',
  'SC-28': 'Protection of Information at Rest',
  'SI-2': 'Flaw Remediation',
  'SI-4': 'System Monitoring',
  'SI-7': 'Software, Firmware, and Information Integrity',
  'SR-3': 'Supply Chain Controls and Processes',
  'SR-4': 'Provenance',
  'SR-11': 'Component Authenticity',
};

export interface ResultGroup {
  /** Section or control id (`4.1.4`, `IA-5`, `CIS-4`, `IMG`). */
  id: string;
  title: string;
  /** The worst status of its checks: fail > warn > manual > pass > not-applicable. */
  status: CheckStatus;
  checks: string[];
}

export interface FrameworkView {
  framework: Framework;
  title: string;
  groups: ResultGroup[];
}

export function parseFramework(name: string): Framework {
  if ((FRAMEWORKS as readonly string[]).includes(name)) return name as Framework;
  throw new DistillError('FRAMEWORK_UNKNOWN', `unknown compliance framework ${JSON.stringify(name)}`, {
    hint: `use one of ${FRAMEWORKS.join(', ')}`,
    subject: name,
  });
}

const ORDER: readonly CheckStatus[] = ['fail', 'warn', 'manual', 'pass', 'not-applicable'];

export function worstStatus(statuses: readonly CheckStatus[]): CheckStatus {
  if (statuses.length === 0) return 'not-applicable';
  return ORDER.find((s) => statuses.includes(s)) ?? 'not-applicable';
}

function group(id: string, title: string, checks: readonly CheckResult[]): ResultGroup {
  return { id, title, status: worstStatus(checks.map((c) => c.status)), checks: checks.map((c) => c.id) };
}

const controlOrder = (a: string, b: string): number => {
  const [fa, na] = a.split('-');
  const [fb, nb] = b.split('-');
  return fa === fb ? Number(na) - Number(nb) : fa! < fb! ? -1 : 1;
};

/** Groups results the way a framework reads them; a check mapped to several sections or controls appears in each. */
export function frameworkView(framework: Framework, results: readonly CheckResult[]): FrameworkView {
  let groups: ResultGroup[];
  if (framework === 'cis-docker-1.6') {
    groups = [
      group('CIS-4', 'Container Images and Build File (CIS Docker 1.6 §4)', results.filter((r) => r.source === 'cis-docker-1.6')),
      group('IMG', 'Image checks (dockle-style)', results.filter((r) => r.source === 'image')),
    ];
  } else if (framework === 'nist-800-190') {
    groups = Object.entries(NIST_800_190_SECTIONS).map(([id, title]) => group(id, title, results.filter((r) => r.nist800190.includes(id))));
  } else {
    const ids = [...new Set(results.flatMap((r) => r.nist80053))].sort(controlOrder);
    groups = ids.map((id) => group(id, NIST_800_53_CONTROLS[id] ?? id, results.filter((r) => r.nist80053.includes(id))));
  }
  return { framework, title: FRAMEWORK_TITLES[framework], groups };
}
