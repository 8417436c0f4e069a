/** The broker's version, as `webka --version`, /openapi.json and GET /v1/broker report it. */
export const SERVER_VERSION = '0.1.0';
