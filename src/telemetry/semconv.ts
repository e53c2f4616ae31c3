/**
 * Semantic-convention attribute names, copied here (as opentelemetry-js recommends) rather
 * than importing the package's unstable entry point at run time.
 */
export const ATTR_SERVER_ADDRESS = 'server.address';
export const ATTR_SERVER_PORT = 'server.port';
export const ATTR_NETWORK_PEER_ADDRESS = 'network.peer.address';
export const ATTR_PROCESS_EXIT_CODE = 'process.exit.code';
export const ATTR_ERROR_TYPE = 'error.type';
export const ATTR_SERVICE_NAME = 'service.name';
export const ATTR_SERVICE_VERSION = 'service.version';
/** MCP semantic conventions (gen-ai / mcp namespaces). */
export const ATTR_MCP_METHOD_NAME = 'mcp.method.name';
export const ATTR_MCP_REQUEST_ID = 'mcp.request.id';
export const ATTR_GEN_AI_TOOL_NAME = 'gen_ai.tool.name';
export const ATTR_GEN_AI_OPERATION_NAME = 'gen_ai.operation.name';
