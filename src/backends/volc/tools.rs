//! Volcengine VPN tools (OpenAPI service `vpn`, version 2020-04-01): the
//! ten read-only tools of the Volcengine VPN MCP server, with the filters
//! the OpenAPI offers. Parameter names are the OpenAPI's in snake case; the
//! backend turns them back (`vpn_gateway_ids` → `VpnGatewayIds`).

use crate::catalog::{BackendKind, Decl, Head, Operation, Param, Tier, ToolDef, Ty};

/// The object a Volcengine call acts on: a region of the endpoint (list
/// tools), or a VPN object in it, named by its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Region,
    VpnGateway,
    VpnConnection,
    VpnGatewayRoute,
    SslVpnClientCert,
}

impl Target {
    /// The Cedar entity type of this target.
    pub fn entity_type(self) -> &'static str {
        match self {
            Target::Region => "Region",
            Target::VpnGateway => "VpnGateway",
            Target::VpnConnection => "VpnConnection",
            Target::VpnGatewayRoute => "VpnGatewayRoute",
            Target::SslVpnClientCert => "SslVpnClientCert",
        }
    }
}

/// How the OpenAPI runs a tool: the action, for list actions the result
/// field that holds the items (so pages can be joined), and the target.
#[derive(Debug, Clone, Copy)]
pub struct VolcCall {
    pub action: &'static str,
    pub list_key: Option<&'static str>,
    pub target: Target,
}

impl Operation for VolcCall {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// The argument that picks a region; never sent as an OpenAPI parameter
/// (it selects the signing scope and the Cedar resource).
pub const REGION: &str = "region";

impl Ty {
    /// A Volcengine region id, e.g. cn-beijing or ap-southeast-1.
    pub const VOLC_REGION: Ty = Ty::Ident {
        pattern: r"^[a-z]{2}-[a-z0-9]+(?:-[a-z0-9]+){0,2}$",
        max_len: 40,
        what: "a region id such as cn-beijing (one of the endpoint's configured regions)",
    };
}

/// An id with a resource prefix, as the OpenAPI hands them out.
macro_rules! id_pattern {
    ($prefix:literal) => {
        concat!("^", $prefix, "-[A-Za-z0-9]{4,64}$")
    };
}

const fn id(prefix_pattern: &'static str, what: &'static str) -> Ty {
    Ty::Ident {
        pattern: prefix_pattern,
        max_len: 72,
        what,
    }
}

const fn ids(prefix_pattern: &'static str, what: &'static str) -> Ty {
    Ty::IdList {
        pattern: prefix_pattern,
        max_items: 100,
        what,
    }
}

const GW: &str = id_pattern!("vgw");
const CONN: &str = id_pattern!("vgc");
const ROUTE: &str = id_pattern!("vgr");
const CGW: &str = id_pattern!("cgw");
const CERT: &str = id_pattern!("vsc");
const SERVER: &str = id_pattern!("vss");
const VPC: &str = id_pattern!("vpc");
const SUBNET: &str = id_pattern!("subnet");

const GW_ID: &str = "a VPN gateway id (vgw-…)";
const CONN_ID: &str = "an IPsec connection id (vgc-…)";
const ROUTE_ID: &str = "a VPN gateway route id (vgr-…)";
const CGW_ID: &str = "a customer gateway id (cgw-…)";
const CERT_ID: &str = "an SSL VPN client certificate id (vsc-…)";
const SERVER_ID: &str = "an SSL VPN server id (vss-…)";

const NAME: Ty = Ty::Name {
    max_len: 128,
    what: "a name (one line of text, no leading or trailing space)",
};

const REGION_PARAM: Param = Param::optional(
    REGION,
    Ty::VOLC_REGION,
    "Region; one of the endpoint's configured regions (default: its first).",
);
const PAGE_NUMBER: Param = Param::optional(
    "page_number",
    Ty::Int { min: 1, max: 10_000 },
    "Return only this page (from 1); without it every page is fetched and joined (up to 1000 items).",
);
const PAGE_SIZE: Param = Param::optional(
    "page_size",
    Ty::Int { min: 1, max: 100 },
    "Items per page (default 100 when fetching every page, 20 otherwise).",
);
const PROJECT: Param = Param::optional("project_name", NAME, "Only objects of this project.");
const TAGS: Param = Param::optional(
    "tag_filters",
    Ty::TagFilters,
    "Only objects with these tags: [{\"key\": \"env\", \"values\": [\"prod\"]}].",
);
const STATUS: Param = Param::optional(
    "status",
    Ty::Enum(&["Creating", "Deleting", "Pending", "Available", "Updating"]),
    "Only objects in this status.",
);
const GW_FILTER: Param = Param::optional(
    "vpn_gateway_id",
    id(GW, GW_ID),
    "Only objects of this VPN gateway.",
);

fn tool(
    name: &'static str,
    title: &'static str,
    description: &'static str,
    target: Target,
    action: &'static str,
    list_key: Option<&'static str>,
) -> Decl {
    Decl::new(
        Head {
            name,
            title,
            description,
            backend: BackendKind::Volcengine,
            category: "vpn",
            tier: Tier::Read,
            target: target.entity_type(),
        },
        VolcCall {
            action,
            list_key,
            target,
        },
    )
}

/// A list tool, every field named: filters, then region and paging.
struct List<'a> {
    name: &'static str,
    title: &'static str,
    description: &'static str,
    action: &'static str,
    /// The result field that holds the items.
    list_key: &'static str,
    filters: &'a [Param],
}

fn list(l: List<'_>) -> ToolDef {
    let mut params = l.filters.to_vec();
    params.extend([REGION_PARAM, PAGE_NUMBER, PAGE_SIZE]);
    tool(
        l.name,
        l.title,
        l.description,
        Target::Region,
        l.action,
        Some(l.list_key),
    )
    .params(&params)
    .0
}

/// An attributes tool, every field named: one object by id.
struct Attributes {
    name: &'static str,
    title: &'static str,
    description: &'static str,
    target: Target,
    action: &'static str,
    id_param: Param,
}

fn attributes(a: Attributes) -> ToolDef {
    tool(a.name, a.title, a.description, a.target, a.action, None)
        .params(&[a.id_param, REGION_PARAM])
        .0
}

pub fn tools() -> Vec<ToolDef> {
    vec![
        attributes(Attributes {
            name: "volc_describe_vpn_gateway_attributes",
            title: "Describe VPN gateway",
            description: "One VPN gateway: name, public IP, bandwidth, billing, status, VPC, subnet.",
            target: Target::VpnGateway,
            action: "DescribeVpnGatewayAttributes",
            id_param: Param::required("vpn_gateway_id", id(GW, GW_ID), "The VPN gateway, e.g. vgw-2fe3bcd4xyz."),
        }),
        list(List {
            name: "volc_describe_vpn_gateways",
            title: "List VPN gateways",
            description: "VPN gateways of a region, filtered by ids, name, status, VPC, subnet, IP, SSL or IPsec, project or tags.",
            action: "DescribeVpnGateways",
            list_key: "VpnGateways",
            filters: &[
                Param::optional("vpn_gateway_ids", ids(GW, GW_ID), "Only these gateways."),
                Param::optional("vpn_gateway_name", NAME, "Only gateways of this name."),
                STATUS,
                Param::optional("vpc_id", id(VPC, "a VPC id (vpc-…)"), "Only gateways in this VPC."),
                Param::optional("subnet_id", id(SUBNET, "a subnet id (subnet-…)"), "Only gateways in this subnet."),
                Param::optional("ip_address", Ty::Ident {
                    pattern: r"^[0-9A-Fa-f]{1,4}[0-9A-Fa-f:.]{1,38}$",
                    max_len: 39,
                    what: "an IP address",
                }, "Only the gateway with this public IP."),
                Param::optional("ssl_enabled", Ty::Bool, "Only gateways with SSL VPN on (true) or off (false)."),
                Param::optional("ipsec_enabled", Ty::Bool, "Only gateways with IPsec on (true) or off (false)."),
                PROJECT,
                TAGS,
            ],
        }),
        attributes(Attributes {
            name: "volc_describe_vpn_connection_attributes",
            title: "Describe IPsec connection",
            description: "One IPsec connection: tunnel, IKE and IPsec settings, subnets, status (pre-shared keys withheld).",
            target: Target::VpnConnection,
            action: "DescribeVpnConnectionAttributes",
            id_param: Param::required("vpn_connection_id", id(CONN, CONN_ID), "The IPsec connection, e.g. vgc-2fe3bcd4xyz."),
        }),
        list(List {
            name: "volc_describe_vpn_connections",
            title: "List IPsec connections",
            description: "IPsec connections of a region, filtered by ids, name, gateway, customer gateway, status or project (pre-shared keys withheld).",
            action: "DescribeVpnConnections",
            list_key: "VpnConnections",
            filters: &[
                Param::optional("vpn_connection_ids", ids(CONN, CONN_ID), "Only these connections."),
                Param::optional("vpn_connection_name", NAME, "Only connections of this name."),
                GW_FILTER,
                Param::optional("customer_gateway_id", id(CGW, CGW_ID), "Only connections to this customer gateway."),
                STATUS,
                PROJECT,
            ],
        }),
        attributes(Attributes {
            name: "volc_describe_vpn_gateway_route_attributes",
            title: "Describe VPN gateway route",
            description: "One VPN gateway route entry: destination, next hop, type, status.",
            target: Target::VpnGatewayRoute,
            action: "DescribeVpnGatewayRouteAttributes",
            id_param: Param::required("vpn_gateway_route_id", id(ROUTE, ROUTE_ID), "The route entry, e.g. vgr-2fe3bcd4xyz."),
        }),
        list(List {
            name: "volc_describe_vpn_gateway_routes",
            title: "List VPN gateway routes",
            description: "Route entries of VPN gateways, filtered by gateway, ids, destination CIDR, next hop, type or status.",
            action: "DescribeVpnGatewayRoutes",
            list_key: "VpnGatewayRoutes",
            filters: &[
                GW_FILTER,
                Param::optional("vpn_gateway_route_ids", ids(ROUTE, ROUTE_ID), "Only these routes."),
                Param::optional("destination_cidr_block", Ty::Ident {
                    pattern: r"^[0-9A-Fa-f]{1,4}[0-9A-Fa-f:.]{1,38}/[0-9]{1,3}$",
                    max_len: 43,
                    what: "a CIDR block such as 10.0.0.0/16",
                }, "Only routes to this CIDR block."),
                Param::optional("next_hop_id", id(CONN, CONN_ID), "Only routes via this IPsec connection."),
                Param::optional("route_type", Ty::Enum(&["Static", "BGP", "Cloud"]), "Only routes of this type."),
                STATUS,
            ],
        }),
        list(List {
            name: "volc_describe_customer_gateways",
            title: "List customer gateways",
            description: "Customer gateways of a region, filtered by ids, name, IP, status, project or tags.",
            action: "DescribeCustomerGateways",
            list_key: "CustomerGateways",
            filters: &[
                Param::optional("customer_gateway_ids", ids(CGW, CGW_ID), "Only these customer gateways."),
                Param::optional("customer_gateway_name", NAME, "Only customer gateways of this name."),
                Param::optional("ip_address", Ty::Ident {
                    pattern: r"^[0-9A-Fa-f]{1,4}[0-9A-Fa-f:.]{1,38}$",
                    max_len: 39,
                    what: "an IP address",
                }, "Only the customer gateway with this IP."),
                STATUS,
                PROJECT,
                TAGS,
            ],
        }),
        attributes(Attributes {
            name: "volc_describe_ssl_vpn_client_cert_attributes",
            title: "Describe SSL VPN client certificate",
            description: "One SSL VPN client certificate: status, validity, server (private keys and configuration files withheld).",
            target: Target::SslVpnClientCert,
            action: "DescribeSslVpnClientCertAttributes",
            id_param: Param::required("ssl_vpn_client_cert_id", id(CERT, CERT_ID), "The certificate, e.g. vsc-2fe3bcd4xyz."),
        }),
        list(List {
            name: "volc_describe_ssl_vpn_client_certs",
            title: "List SSL VPN client certificates",
            description: "SSL VPN client certificates, filtered by server, ids, name or tags.",
            action: "DescribeSslVpnClientCerts",
            list_key: "SslVpnClientCerts",
            filters: &[
                Param::optional("ssl_vpn_server_id", id(SERVER, SERVER_ID), "Only certificates of this SSL VPN server."),
                Param::optional("ssl_vpn_client_cert_ids", ids(CERT, CERT_ID), "Only these certificates."),
                Param::optional("ssl_vpn_client_cert_name", NAME, "Only certificates of this name."),
                TAGS,
            ],
        }),
        list(List {
            name: "volc_describe_ssl_vpn_servers",
            title: "List SSL VPN servers",
            description: "SSL VPN servers, filtered by gateway, ids, name, project or tags.",
            action: "DescribeSslVpnServers",
            list_key: "SslVpnServers",
            filters: &[
                GW_FILTER,
                Param::optional("ssl_vpn_server_ids", ids(SERVER, SERVER_ID), "Only these servers."),
                Param::optional("ssl_vpn_server_name", NAME, "Only servers of this name."),
                PROJECT,
                TAGS,
            ],
        }),
    ]
}

/// The id argument that names a target object, if the target is one.
pub fn target_id_param(target: Target) -> Option<&'static str> {
    Some(match target {
        Target::VpnGateway => "vpn_gateway_id",
        Target::VpnConnection => "vpn_connection_id",
        Target::VpnGatewayRoute => "vpn_gateway_route_id",
        Target::SslVpnClientCert => "ssl_vpn_client_cert_id",
        _ => return None,
    })
}
