/** @module compliance — public surface: complyImage, the checks and their NIST mappings, frameworks, formats, the Dockerfile parser and the secret rules. */
export { complyImage, gateFails, countStatuses, COMPLIANCE_SCHEMA_VERSION, type ComplianceReport, type ComplyOptions } from './comply.js';
export { runChecks, secretEvidence, CHECK_DEFINITIONS, UNNEEDED_PACKAGES, MAX_EVIDENCE, type CheckContext, type CheckDefinition, type CheckResult, type CheckStatus, type Evidence } from './checks.js';
export { FRAMEWORKS, FRAMEWORK_TITLES, NIST_800_190_SECTIONS, NIST_800_53_CONTROLS, frameworkView, parseFramework, worstStatus, type Framework, type FrameworkView, type ResultGroup } from './frameworks.js';
export { COMPLY_FORMATS, encodeComplianceReport, evidenceLine, type ComplyFormat } from './comply-formats.js';
export { parseDockerfile, runCommand, INSTRUCTIONS, MAX_DOCKERFILE_BYTES, MAX_INSTRUCTION_CHARS, type Dockerfile, type Instruction, type InstructionName } from './dockerfile.js';
export { SECRET_RULES, findSecrets, findSecretsInAssignment, looksBinary, redact, MAX_SECRET_TEXT, MAX_MATCHES_PER_TEXT, type SecretContext, type SecretMatch, type SecretRule } from './secret-rules.js';
export { collectEvidence, isPackageConfig, CAPTURED_FILES, DEFAULT_MAX_SECRET_FILE_BYTES, type CollectOptions, type FileSecret, type ImageEvidence, type LayerRef, type SecretScanStats } from './image-evidence.js';
