// The browser verifier's public API. Plain ES modules, no dependencies: import this file.
export { verifyBundle, verifyProofBundle, verifyConsistencyBundle, PROOF_FORMAT, CONSISTENCY_FORMAT } from './proof_bundle.js';
export { verifyCollateral, COLLATERAL_FORMAT, toChecksumAddress, isAddress, headlineFigures, figureText, samplingStatement, missPercent } from './collateral.js';
export { verifyCollateralOnChain, verifyProofBundleOnChain, runtimeMatches, readPledge, factoryCheck, expectedFactoryCheck, describeFactory,
  logIdOf } from './chain.js';
export { RpcClient, RpcError } from './rpc.js';
export { parseJson, JsonFloat, JsonInputError, JsonDuplicateKeyError } from './json.js';
export { canonicalize, canonicalText, CanonicalError } from './jcs.js';
export { shown, pyRepr } from './pyfmt.js';
export { prepareRecord, RecordError } from './records.js';
export { leafHash, nodeHash, verifyInclusion, verifyConsistency, rootFromInclusionProof, rootFromRange, verifyRange, ProofError } from './merkle.js';
export { checkManifest, assetDigest, recordDisagreements, ASSET_FORMAT, ASSET_FORMAT_V2 } from './manifest.js';
export { sampleSeed, sampleIndices } from './sampling.js';
export { keccak256 } from './keccak.js';
export { sha256 } from './sha256.js';
export { toHex, fromHex } from './hex.js';
export { verifyDisclosure, DISCLOSURE_FORMAT } from './disclosure.js';
export { recheckEvidence, recheckJson, checkCovenants } from './covenant_evidence.js';
export { FORMAT as RECORD2_FORMAT, PARTIAL_FORMAT, PartialRecordError, fieldSalt, fieldCommitment, fieldNames, recordFields,
  leafDataFromCommitments, leafDataV2, leafHashV2, disclose, verifyPartial, verifyPartialInclusion } from './record2.js';
export { RECORD_V1, RECORD_V2, bundleRecordFormat, leafHashOf } from './leaves.js';
export { verifyGrantRead, READ_FORMAT as GRANT_READ_FORMAT } from './grant_read.js';
