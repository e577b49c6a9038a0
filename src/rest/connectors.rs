//! `/api/v1/connectors` — a merchant's accounts at payment providers
//! (SPEC §11). Managed with a secret API key (they hold credentials);
//! read with `payments:read`. Credentials never come back.
use axum::extract::State;
use axum::response::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Principal;
use crate::domain::ConnectorId;
use crate::error::{ErrorResponse, Result};
use crate::rest::extract::{self, PathId};
use crate::service::connector::{self, ConnectorUpdate, NewConnector};
use crate::wire::{
    ConnectorList, ConnectorOut, CreateConnectorRequest, DeletedConnector, UpdateConnectorRequest,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_connector, list_connectors))
        .routes(routes!(get_connector, update_connector, delete_connector))
}

fn out(state: &AppState, c: &entity::connector::Model) -> Result<ConnectorOut> {
    ConnectorOut::new(c, connector::notification_url(state, c))
}

/// Create a connector
///
/// The credentials are checked with the provider (MTN: a token; Wave: an
/// authenticated read), then stored encrypted. Register the answer's
/// `notification_url` at the provider. One enabled connector per type and mode.
#[utoipa::path(post, path = "/api/v1/connectors", tag = "Connectors",
    request_body(content = CreateConnectorRequest, content_type = "application/json"),
    security(("bearer" = [])),
    responses((status = 200, description = "The connector (credentials as `••••<last 4>`)", body = ConnectorOut),
        (status = 400, description = "Invalid or refused credentials (`connector_credentials_invalid`)", body = ErrorResponse),
        (status = 403, description = "An app token cannot manage connectors", body = ErrorResponse),
        (status = 409, description = "An enabled connector of this type exists (`connector_exists`)", body = ErrorResponse),
        (status = 503, description = "The provider could not be reached (`processor_unavailable`)", body = ErrorResponse)))]
async fn create_connector(
    State(state): State<AppState>,
    p: Principal,
    extract::Json(req): extract::Json<CreateConnectorRequest>,
) -> Result<Json<ConnectorOut>> {
    let new = NewConnector {
        kind: req.r#type,
        credentials: req.credentials,
        description: req.description,
    };
    let c = connector::create(&state, &p, new).await?;
    Ok(Json(out(&state, &c)?))
}

/// List connectors
///
/// Every connector of this mode, newest first.
#[utoipa::path(get, path = "/api/v1/connectors", tag = "Connectors",
    security(("bearer" = [])),
    responses((status = 200, description = "Every connector of this mode", body = ConnectorList)))]
async fn list_connectors(
    State(state): State<AppState>,
    p: Principal,
) -> Result<Json<ConnectorList>> {
    let all = connector::list(&state, &p).await?;
    Ok(Json(ConnectorList {
        object: "list",
        data: all.iter().map(|c| out(&state, c)).collect::<Result<_>>()?,
        has_more: false,
        url: "/api/v1/connectors".into(),
    }))
}

/// Retrieve a connector
///
/// Its type, status, masked credentials and notification URL.
#[utoipa::path(get, path = "/api/v1/connectors/{id}", tag = "Connectors",
    params(("id" = String, Path, description = "`conn_…`")), security(("bearer" = [])),
    responses((status = 200, description = "The connector", body = ConnectorOut),
        (status = 404, description = "No such connector", body = ErrorResponse)))]
async fn get_connector(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<ConnectorId>,
) -> Result<Json<ConnectorOut>> {
    let c = connector::get(&state, &p, &id).await?;
    Ok(Json(out(&state, &c)?))
}

/// Update a connector
///
/// New `credentials` (checked with the provider), `disabled`, `description`.
#[utoipa::path(post, path = "/api/v1/connectors/{id}", tag = "Connectors",
    params(("id" = String, Path, description = "`conn_…`")), security(("bearer" = [])),
    request_body(content = UpdateConnectorRequest, content_type = "application/json"),
    responses((status = 200, description = "The connector", body = ConnectorOut),
        (status = 400, description = "Invalid or refused credentials", body = ErrorResponse),
        (status = 409, description = "Enabling it would make two enabled connectors of one type", body = ErrorResponse)))]
async fn update_connector(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<ConnectorId>,
    extract::Json(req): extract::Json<UpdateConnectorRequest>,
) -> Result<Json<ConnectorOut>> {
    let upd = ConnectorUpdate {
        credentials: req.credentials,
        disabled: req.disabled,
        description: req.description,
    };
    let c = connector::update(&state, &p, &id, upd).await?;
    Ok(Json(out(&state, &c)?))
}

/// Delete a connector
///
/// It takes no new payments; payments already in flight through it still settle.
#[utoipa::path(delete, path = "/api/v1/connectors/{id}", tag = "Connectors",
    params(("id" = String, Path, description = "`conn_…`")), security(("bearer" = [])),
    responses((status = 200, description = "Deleted", body = DeletedConnector)))]
async fn delete_connector(
    State(state): State<AppState>,
    p: Principal,
    PathId(id): PathId<ConnectorId>,
) -> Result<Json<DeletedConnector>> {
    connector::delete(&state, &p, &id).await?;
    Ok(Json(DeletedConnector {
        id: id.to_string(),
        object: "connector",
        deleted: true,
    }))
}
