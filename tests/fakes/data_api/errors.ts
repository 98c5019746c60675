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
  // Refused createCollection options (errors.yaml; LEXICAL_NOT_AVAILABLE_FOR_DATABASE is the
  // v1.0.23-v1.0.46 ErrorCodeV1 code).
  LEXICAL_FEATURE_NOT_ENABLED: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "Lexical search is not available on this database",
  },
  LEXICAL_NOT_AVAILABLE_FOR_DATABASE: {
    family: "REQUEST",
    scope: "",
    title: "Lexical search is not available on this database",
  },
  RERANKING_FEATURE_NOT_ENABLED: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "Reranking feature not enabled",
  },
  // errors.yaml server-errors, scope EMBEDDING_PROVIDER (EmbeddingProviderException extends ServerException).
  EMBEDDING_PROVIDER_AUTHENTICATION_KEYS_NOT_PROVIDED: {
    family: "SERVER",
    scope: "EMBEDDING_PROVIDER",
    title: "Authentication header(s) missing from embedding request",
  },
  // v1.0.14–v1.0.35: exception/ErrorCodeV1.java (family/scope as its mapper gives them).
  EMBEDDING_PROVIDER_API_KEY_MISSING: {
    family: "REQUEST",
    scope: "",
    title: "The Embedding Provider API key is missing",
  },
  VECTORIZE_FEATURE_NOT_AVAILABLE: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "Vectorize feature not available",
  },
  DEPRECATED_AI_MODEL: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "Cannot use deprecated model.",
  },
  END_OF_LIFE_AI_MODEL: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "Cannot use end of life model.",
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
  // DatabaseException (family SERVER, scope DATABASE): stargate/data-api errors.yaml
  FAILED_COMPARE_AND_SET: {
    family: "SERVER",
    scope: "DATABASE",
    title: "Failed database Compare and Set operation",
  },
  FAILED_CONCURRENT_OPERATIONS: {
    family: "SERVER",
    scope: "DATABASE",
    title: "Failed to complete concurrent operations on the database",
  },
  // ErrorCodeV1 (servers up to v1.0.34): title is the code's description
  TABLE_FEATURE_NOT_ENABLED: {
    family: "REQUEST",
    scope: "",
    title: "API Table feature is not enabled",
  },
  SERVER_DRIVER_TIMEOUT: { family: "SERVER", scope: "", title: "Driver timeout" },
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
  // SortException (family REQUEST, scope SORT): stargate/data-api errors.yaml request-errors.
  CANNOT_SORT_UNKNOWN_COLUMNS: {
    family: "REQUEST",
    scope: "SORT",
    title: "Sorted columns are not defined in the table schema",
  },
  CANNOT_SORT_ON_SPECIAL_WITH_OTHERS: {
    family: "REQUEST",
    scope: "SORT",
    title: "Special sort combined with other sort expressions",
  },
  CANNOT_VECTOR_SORT_WITH_LIMIT_EXCEEDS_MAX: {
    family: "REQUEST",
    scope: "SORT",
    title: "Limit exceeds the maximum allowed for vector sort",
  },
  CANNOT_VECTOR_SORT_WITH_SKIP_OPTION: {
    family: "REQUEST",
    scope: "SORT",
    title: "Skip option cannot be used with  vector sort",
  },
  CANNOT_VECTOR_SORT_NON_INDEXED_VECTOR_COLUMNS: {
    family: "REQUEST",
    scope: "SORT",
    title: "Vector sort cannot be used for non indexed vector columns",
  },
  CANNOT_VECTOR_SORT_ON_MISMATCHED_VECTOR_DIMENSIONS: {
    family: "REQUEST",
    scope: "SORT",
    title: "Vector sort cannot be used with mismatched vector dimensions",
  },
  INVALID_VECTOR_SORT_EXPRESSION: {
    family: "REQUEST",
    scope: "SORT",
    title: "Sort expression is not valid for vector/vectorize sort",
  },
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
  UNEXPECTED_SERVER_ERROR: { family: "SERVER", scope: "", title: "Unexpected server error" },
  UNEXPECTED_DRIVER_ERROR: {
    family: "SERVER",
    scope: "DATABASE",
    title: "Unexpected driver error",
  },
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
  // Tables (titles and scopes from stargate/data-api src/main/resources/errors.yaml).
  COMMAND_FIELD_UNKNOWN: { family: "REQUEST", scope: "", title: "Command field unknown" },
  REQUEST_STRUCTURE_MISMATCH: {
    family: "REQUEST",
    scope: "",
    title: "Request structure not valid",
  },
  UNSUPPORTED_TABLE_COMMAND: {
    family: "REQUEST",
    scope: "",
    title: "Command is not supported by tables",
  },
  UNSUPPORTED_COLLECTION_COMMAND: {
    family: "REQUEST",
    scope: "",
    title: "Command is not supported by collections",
  },
  UNKNOWN_DATA_TYPE: { family: "REQUEST", scope: "SCHEMA", title: "Data type is unknown" },
  UNKNOWN_PRIMITIVE_DATA_TYPE: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "Primitive data type is unknown",
  },
  UNKNOWN_USER_DEFINED_TYPE: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "User defined type is unknown",
  },
  INVALID_USER_DEFINED_TYPE_NAME: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "User defined type name is not valid.",
  },
  UNSUPPORTED_DATA_TYPE_TABLE_CREATION: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "Table creation with unsupported data types",
  },
  UNSUPPORTED_LIST_DEFINITION: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "List definition contains unsupported data types",
  },
  UNSUPPORTED_SET_DEFINITION: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "Set definition contains unsupported data types",
  },
  UNSUPPORTED_MAP_DEFINITION: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "Map definition contains unsupported data types",
  },
  UNSUPPORTED_VECTOR_DIMENSION: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "Vector definition contains unsupported dimension",
  },
  MISSING_DIMENSION_IN_VECTOR_COLUMN: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "Dimension is required for vector column if embedding service is not specified",
  },
  PRIMARY_KEY_DEFINITION_INCORRECT: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "Primary key definition provided is incorrect.",
  },
  MISSING_PARTITION_COLUMNS: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "Partitioning keys are required for tables",
  },
  UNKNOWN_PARTITION_COLUMNS: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "Partition columns are not defined in the table schema",
  },
  UNKNOWN_PARTITION_SORT_COLUMNS: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "Partition sort columns are not defined in the table schema",
  },
  UNSUPPORTED_SCHEMA_NAME: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "The used schema name is not supported",
  },
  CANNOT_ADD_EXISTING_TABLE: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "Table with the same name exists in the keyspace schema",
  },
  CANNOT_DROP_UNKNOWN_TABLE: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "Dropped table is not defined in the keyspace schema",
  },
  EXISTING_TABLE_NOT_DATA_API_COLLECTION: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "Existing table not a valid Data API collection",
  },
  MISSING_FIELDS_FOR_TYPE_CREATION: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "At least one field is required for type creation",
  },
  UNSUPPORTED_TYPE_FIELDS: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "Type definition contains unsupported fields.",
  },
  CANNOT_ADD_EXISTING_TYPE: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "Type with the same name exists in the keyspace schema",
  },
  CANNOT_DROP_UNKNOWN_TYPE: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "Dropped type is not defined in the keyspace schema",
  },
  CANNOT_DROP_TYPE_USED_BY_TABLE: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "Type cannot be dropped if used by tables",
  },
  CANNOT_ADD_EXISTING_INDEX: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "Index with the same name exists in the keyspace schema",
  },
  CANNOT_DROP_UNKNOWN_INDEX: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "Dropped index is not defined in the keyspace schema",
  },
  UNKNOWN_INDEX_COLUMN: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "Index column is not defined in the table schema",
  },
  UNSUPPORTED_INDEX_TYPE: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "Index type is not supported",
  },
  UNKNOWN_INDEX_TYPE: { family: "REQUEST", scope: "SCHEMA", title: "Index type is unknown" },
  INVALID_FORMAT_FOR_INDEX_CREATION_COLUMN: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "Unable to create index, format for index creation column is invalid.",
  },
  UNSUPPORTED_INDEXING_FOR_DATA_TYPES: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "Indexing not supported by data types",
  },
  UNSUPPORTED_TEXT_ANALYSIS_FOR_DATA_TYPES: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "Analysed text index not supported by data types",
  },
  CANNOT_ANALYZE_ENTRIES_ON_MAP_COLUMNS: {
    family: "REQUEST",
    scope: "SCHEMA",
    title:
      "Can not create index on map column with index function entries and specify analyze options",
  },
  UNSUPPORTED_VECTOR_INDEX_FOR_DATA_TYPES: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "Vector index not supported by data types",
  },
  UNKNOWN_VECTOR_METRIC: { family: "REQUEST", scope: "SCHEMA", title: "Vector metric is unknown" },
  UNKNOWN_VECTOR_SOURCE_MODEL: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "Vector source model is unknown",
  },
  UNSUPPORTED_TEXT_INDEX_FOR_DATA_TYPES: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "Text index not supported by data types",
  },
  UNSUPPORTED_JSON_TYPE_FOR_TEXT_INDEX: {
    family: "REQUEST",
    scope: "SCHEMA",
    title: "JSON value type is not supported for creating text index",
  },
  INVALID_COLUMN_VALUES: {
    family: "REQUEST",
    scope: "DOCUMENT",
    title: "Column values in documents are not valid",
  },
  MISSING_PRIMARY_KEY_COLUMNS: {
    family: "REQUEST",
    scope: "DOCUMENT",
    title: "Primary key columns missing",
  },
  INVALID_FILTER_COLUMN_VALUES: {
    family: "REQUEST",
    scope: "FILTER",
    title: "Column value in filter is not valid",
  },
  ZERO_FILTER_OPERATIONS: {
    family: "REQUEST",
    scope: "WARNING",
    title: "Zero operations provided in query filter",
  },
  DEPRECATED_COMMAND: { family: "REQUEST", scope: "WARNING", title: "Deprecated command" },
  INVALID_DATABASE_QUERY: {
    family: "SERVER",
    scope: "DATABASE",
    title: "Invalid database query",
  },
};

/**
 * Codes defined in more than one scope (errors are unique per family, scope and code); the
 * scope passed to {@linkcode apiError} picks the title.
 */
const SCOPED: Record<string, string> = {
  "DOCUMENT:UNKNOWN_TABLE_COLUMNS": "Columns in documents are not defined in the table schema",
  "FILTER:UNKNOWN_TABLE_COLUMNS": "Columns in the filter are not defined in the table schema",
  "PROJECTION:UNKNOWN_TABLE_COLUMNS":
    "Columns in the projection are not defined in the table schema",
  "DOCUMENT:UNSUPPORTED_COLUMN_TYPES": "Column types in documents are not supported",
  "PROJECTION:UNSUPPORTED_COLUMN_TYPES": "Column types in projection are not supported",
  "DOCUMENT:UNSUPPORTED_VECTORIZE_WHEN_MISSING_VECTORIZE_DEFINITION":
    "Vectorize not supported on column with missing vectorize configuration",
};

/**
 * Builds a descriptor for `code` with a message. Unknown codes become SERVER errors. `scope`
 * selects between same-named codes of different scopes (see SCOPED).
 */
export function apiError(
  code: string,
  message: string,
  documentIds?: unknown[],
  scope?: string,
): FakeError {
  const scoped = scope === undefined ? undefined : SCOPED[`${scope}:${code}`];
  const meta = scoped !== undefined
    ? { family: "REQUEST" as const, scope: scope!, title: scoped }
    : TABLE[code] ?? { family: "SERVER" as const, scope: "", title: code };
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
  constructor(code: string, message: string, httpStatus = 200, scope?: string) {
    super(message);
    this.descriptor = apiError(code, message, undefined, scope);
    this.httpStatus = httpStatus;
  }
}

/**
 * What the server answers a `pageState` it cannot use. There is no dedicated error code: the
 * state is the Cassandra driver's paging state in base64 (stargate/data-api
 * service/cqldriver/executor/CqlPagingState.java, QueryExecutor.java decodeBase64), so text that is
 * not base64 fails in Base64.getDecoder() with an IllegalArgumentException, which becomes
 * UNEXPECTED_SERVER_ERROR (exception/mappers/FrameworkExceptionMapper.java, errors.yaml); bytes
 * the database rejects come back from the driver as an error DefaultDriverExceptionHandler.java
 * does not handle, which becomes UNEXPECTED_DRIVER_ERROR. Both in HTTP 200, neither retriable.
 * (A state from another collection or table decodes on the real server; the fake refuses it too.)
 */
export function pageStateRejected(state: string, target: string): FakeApiError {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(state) || state.length % 4 !== 0) {
    const bad = state.match(/[^A-Za-z0-9+/=]/)?.[0] ?? "=";
    return new FakeApiError(
      "UNEXPECTED_SERVER_ERROR",
      `An unexpected server error occurred while processing the request.\n\nError Class: IllegalArgumentException\nError Message: Illegal base64 character ${
        bad.charCodeAt(0).toString(16)
      }`,
    );
  }
  return new FakeApiError(
    "UNEXPECTED_DRIVER_ERROR",
    `An unexpected server error occurred while using the driver with the database.\n\nThe command against the collection ${target} may be in an inconsistent state due to the error encountered.\n\nError Class: ProtocolError\nError Message: Invalid value for the paging state`,
  );
}
