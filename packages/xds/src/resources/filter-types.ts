// The HTTP filter config message names Inboard understands, by the full proto name an Any carries.

export const ROUTER = 'envoy.extensions.filters.http.router.v3.Router';
export const HTTP_FAULT = 'envoy.extensions.filters.http.fault.v3.HTTPFault';
export const RBAC = 'envoy.extensions.filters.http.rbac.v3.RBAC';
export const RBAC_PER_ROUTE = 'envoy.extensions.filters.http.rbac.v3.RBACPerRoute';
export const CORS = 'envoy.extensions.filters.http.cors.v3.Cors';
export const CORS_POLICY = 'envoy.extensions.filters.http.cors.v3.CorsPolicy';
export const FILTER_CONFIG = 'envoy.config.route.v3.FilterConfig';
export const HTTP_CONNECTION_MANAGER =
  'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
export const XDS_TYPED_STRUCT = 'xds.type.v3.TypedStruct';
export const UDPA_TYPED_STRUCT = 'udpa.type.v1.TypedStruct';
