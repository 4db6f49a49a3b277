/** Resources: kinds, validation and defaults, and the store with calicoctl's verbs. */
export * from './types.js';
export * from './errors.js';
export { KINDS, KIND_NAMES, DEFAULT_NAMESPACE, UnknownKindError, kindInfo, kindFromDocument, resolveKind, type KindInfo } from './kinds.js';
export { validateResource, identityOf, ACCEPTED_API_VERSIONS, type ValidateOptions } from './validate.js';
export { validateSelector } from './selector.js';
export { parseCidr, parseNet, cidrsOverlap, ipVersion, type Cidr, type IPVersion } from './net.js';
export { RESOURCES_PREFIX, kindPrefix, resourceKey } from './keys.js';
export { checkPoolOverlap, checkPoolImmutable } from './cross.js';
export { BLOCK_SIZE } from './specs/ippool.js';
export { inferTypes } from './specs/policy.js';
export { parseDocuments, DocumentSyntaxError, type SourceDocument } from './documents.js';
export { ResourceStore, decodeResource, type WriteVerb, type ApplyOptions, type BatchResult, type Target, type ResourceStoreOptions } from './store.js';
export type { ResourceEvent, ResourceWatch, ResourceWatchHandlers } from './watch.js';
