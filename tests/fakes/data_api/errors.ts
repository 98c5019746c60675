/**
 * @module
 * Error descriptors in the shape the Data API sends (`{id, family, scope, errorCode, title,
 * message}`; stargate/data-api errors.yaml and CommandError.java), for the codes the fake raises.
 */

/** One error as it appears in a response's `errors` array. */
export interface FakeError {
  id: string;
  family: "REQUEST" | "SERVER";
  scope: string;
  errorCode: string;
  title: string;
  message: string;
  documentIds?: unknown[];
}

const TABLE: Record<string, { family: "REQUEST" | "SERVER"; scope: string; title: string }> = {
  COMMAND_FIELD_VALUE_INVALID: {
    family: "REQUEST",
    scope: "",
    title: "Command field value invalid",
  },
  COMMAND_UNKNOWN: { family: "REQUEST", scope: "", title: "Command unknown" },
  REQUEST_NOT_JSON: { family: "REQUEST", scope: "", title: "Request not JSON" },
  UNSUPPORTED_CONTENT_TYPE: { family: "REQUEST", scope: "", title: "Unsupported content type" },
  MISSING_AUTHENTICATION_TOKEN: {
    family: "REQUEST",
    scope: "SECURITY",
    title: "Missing authorization token",
  },
  UNAUTHENTICATED_REQUEST: { family: "REQUEST", scope: "SECURITY", title: "Authentication failed" },
  DOCUMENT_ALREADY_EXISTS: {
    family: "REQUEST",
    scope: "DOCUMENT",
    title: "Document the given _id already exists",
  },
  SHRED_BAD_DOCUMENT_TYPE: {
    family: "REQUEST",
    scope: "DOCUMENT",
    title: "Bad document type to shred",
  },
  SHRED_BAD_DOCID_TYPE: { family: "REQUEST", scope: "DOCUMENT", title: "Bad type for '_id' field" },
  SHRED_BAD_FIELD_NAME: { family: "REQUEST", scope: "DOCUMENT", title: "Bad field name" },
  SHRED_BAD_EJSON_VALUE: { family: "REQUEST", scope: "DOCUMENT", title: "Bad EJSON value" },
  SHRED_BAD_VECTOR_SIZE: { family: "REQUEST", scope: "DOCUMENT", title: "Bad $vector value" },
  SHRED_BAD_VECTOR_VALUE: { family: "REQUEST", scope: "DOCUMENT", title: "Bad $vector value" },
  SHRED_BAD_DOCUMENT_VECTOR_TYPE: {
    family: "REQUEST",
    scope: "DOCUMENT",
    title: "Bad $vector value to shred",
  },
  SHRED_BAD_BINARY_VECTOR_VALUE: {
    family: "REQUEST",
    scope: "DOCUMENT",
    title: "Bad binary vector value to shred",
  },
  SHRED_DOC_LIMIT_VIOLATION: {
    family: "REQUEST",
    scope: "DOCUMENT",
    title: "Document size limitation violated",
  },
  INVALID_VECTOR_LENGTH: {
    family: "REQUEST",
    scope: "DOCUMENT",
    title: "Vector values in documents are not valid",
  },
  INVALID_VECTORIZE_VALUE_TYPE: {
    family: "REQUEST",
    scope: "DOCUMENT",
    title: "$vectorize value type not supported",
  },
  UNSUPPORTED_VECTORIZE_WHEN_MISSING_VECTORIZE_DEFINITION: {
    family: "REQUEST",
    scope: "DOCUMENT",
    title: "Vectorize used without a vectorize definition",
  },
  INVALID_USAGE_OF_VECTORIZE: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "Invalid use of '$vector' and '$vectorize'",
  },
  VECTOR_SEARCH_NOT_SUPPORTED: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "Vector search not enabled for collection",
  },
  LEXICAL_NOT_ENABLED_FOR_COLLECTION: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "Lexical search is not enabled",
  },
  EXISTING_COLLECTION_DIFFERENT_SETTINGS: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "Collection already exists with different settings",
  },
  INVALID_CREATE_COLLECTION_FIELD: {
    family: "REQUEST",
    scope: "",
    title: "Invalid createCollection field",
  },
  TOO_MANY_COLLECTIONS: { family: "REQUEST", scope: "SCHEMA", title: "Too many collections" },
  UNKNOWN_KEYSPACE: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "Keyspace does not exist in the Database",
  },
  UNKNOWN_COLLECTION_OR_TABLE: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "Collection or Table does not exist in the Keyspace",
  },
  COLLECTION_NOT_EXIST: { family: "REQUEST", scope: "SCHEMA", title: "Collection does not exist" },
  SORT_CLAUSE_INVALID: { family: "REQUEST", scope: "SORT", title: "Sort clause invalid" },
  FILTER_UNSUPPORTED_OPERATOR: {
    family: "REQUEST",
    scope: "FILTER",
    title: "Unsupported filter operator",
  },
  UNSUPPORTED_PROJECTION_PARAM: {
    family: "REQUEST",
    scope: "PROJECTION",
    title: "Unsupported projection parameter",
  },
  INVALID_PAGE_STATE: { family: "REQUEST", scope: "", title: "Invalid page state" },
  UNAVAILABLE_DATABASE: {
    family: "SERVER",
    scope: "DATABASE",
    title: "The database is unavailable",
  },
  TIMEOUT_READING_DATA: {
    family: "SERVER",
    scope: "DATABASE",
    title: "Timeout reading data from the database",
  },
  TIMEOUT_WRITING_DATA: {
    family: "SERVER",
    scope: "DATABASE",
    title: "Timeout writing data to the database",
  },
};

/** Builds a descriptor for `code` with a message. Unknown codes become SERVER errors. */
export function apiError(code: string, message: string, documentIds?: unknown[]): FakeError {
  const meta = TABLE[code] ?? { family: "SERVER" as const, scope: "", title: code };
  const e: FakeError = {
    id: crypto.randomUUID(),
    family: meta.family,
    scope: meta.scope,
    errorCode: code,
    title: meta.title,
    message,
  };
  if (documentIds && documentIds.length > 0) e.documentIds = documentIds;
  return e;
}

/** A thrown API error inside the fake; becomes `{"errors":[…]}` in an HTTP 200 response. */
export class FakeApiError extends Error {
  readonly descriptor: FakeError;
  readonly httpStatus: number;
  constructor(code: string, message: string, httpStatus = 200) {
    super(message);
    this.descriptor = apiError(code, message);
    this.httpStatus = httpStatus;
  }
}
