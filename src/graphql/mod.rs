//! GraphQL for dashboards (SPEC §7): `POST /graphql`, GraphiQL at
//! `GET /graphql` from assets the binary ships, subscriptions over WebSocket
//! at `/graphql/ws`. Resolvers are thin: they call the same service functions
//! as the REST handlers.
mod connectors;
mod events;
mod guard;
mod links;
mod loaders;
mod mutation;
mod page;
mod query;
mod refunds;
mod root;
mod scalars;
mod subscription;
mod types;

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Data, ErrorExtensions, Schema};
use async_graphql_axum::{GraphQLProtocol, GraphQLResponse, GraphQLWebSocket};
use axum::Router;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;
use crate::auth::{Principal, bearer_token};
use crate::error::Error;
use crate::service::credentials;

pub type IkSchema = Schema<root::QueryRoot, mutation::MutationRoot, subscription::SubscriptionRoot>;

/// Deepest query accepted, and the most work one query may ask for. The
/// standard introspection query (graphql-js `getIntrospectionQuery()`, sent
/// by GraphiQL, graphql-codegen, Postman, Apollo Sandbox) is 13 levels deep
/// through `ofType`; no query on our own types goes past 7 (the object
/// graph has no cycles), so 16 admits every real query and the complexity
/// limit still prices the rest.
pub const MAX_DEPTH: usize = 16;
pub const MAX_COMPLEXITY: usize = 5_000;

/// The caller of one request or WebSocket connection.
struct Auth(Result<Principal, Error>);

/// The HTTP request's `Idempotency-Key`: the middleware makes the whole
/// request idempotent; mutations that create money movements also record
/// it (a refund's key is unique in the database).
struct IdempotencyKey(String);

pub fn schema(state: Option<AppState>) -> IkSchema {
    let mut b = Schema::build(
        root::QueryRoot::default(),
        mutation::MutationRoot::default(),
        subscription::SubscriptionRoot,
    )
    .limit_depth(MAX_DEPTH)
    .limit_complexity(MAX_COMPLEXITY)
    .extension(guard::Guard);
    if let Some(s) = state {
        b = b.data(s);
    }
    b.finish()
}

/// The SDL, exactly as committed in `openapi/schema.graphql`.
pub fn sdl() -> String {
    schema(None).sdl()
}

// A GraphQL body has no field rules of its own: its type errors are the
// request's (`query` not a string, …).
impl crate::validation::Rules for async_graphql::Request {}

fn gql(e: Error) -> async_graphql::Error {
    e.extend()
}

fn app<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a AppState> {
    ctx.data::<AppState>()
}

fn principal<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Principal> {
    match &ctx.data::<Auth>()?.0 {
        Ok(p) => Ok(p),
        // The same answer as REST: 401 for a bad key, 500 when the
        // database could not be asked.
        Err(e) => Err(gql(e.clone())),
    }
}

/// Per-request data: the caller and fresh DataLoaders.
fn request_data(state: &AppState, auth: Result<Principal, Error>) -> Data {
    let mut data = Data::default();
    data.insert(Auth(auth));
    data.insert(DataLoader::new(
        loaders::LineItemLoader(state.clone()),
        tokio::spawn,
    ));
    data.insert(DataLoader::new(
        loaders::IntentLoader(state.clone()),
        tokio::spawn,
    ));
    data.insert(DataLoader::new(
        loaders::SubscriptionLoader(state.clone()),
        tokio::spawn,
    ));
    data.insert(DataLoader::new(
        loaders::TimelineLoader(state.clone()),
        tokio::spawn,
    ));
    data.insert(DataLoader::new(
        refunds::RefundLoader(state.clone()),
        tokio::spawn,
    ));
    data
}

async fn authenticate(state: &AppState, header: Option<&str>) -> Result<Principal, Error> {
    let token = bearer_token(header)?;
    credentials::authenticate(state, &token).await
}

#[derive(Clone)]
struct GqlState {
    app: AppState,
    schema: IkSchema,
}

async fn execute(State(g): State<GqlState>, headers: HeaderMap, body: Bytes) -> Response {
    // The same content-type rule as REST: JSON only.
    if !crate::rest::extract::is_json_type(&headers) {
        return Error::UnsupportedMediaType.into_response();
    }
    let mut req: async_graphql::Request = match crate::rest::extract::parse(&body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    if let Some(e) = guard::refusal(&req.query) {
        return e.into_response();
    }
    // Parsed once, here; measured before async-graphql walks it. A syntax
    // error is async-graphql's to report.
    if let Ok(doc) = req.parsed_query()
        && let Some(e) = guard::over_expanded(doc)
    {
        return GraphQLResponse::from(async_graphql::Response::from_errors(vec![e]))
            .into_response();
    }
    if req
        .variables
        .values()
        .any(|v| value_depth(v) > guard::MAX_NESTING)
    {
        return guard::too_deep().into_response();
    }
    let auth = authenticate(
        &g.app,
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
    )
    .await;
    req.data = request_data(&g.app, auth);
    if let Some(key) = crate::rest::idempotency::key_of(&headers) {
        req.data.insert(IdempotencyKey(key));
    }
    // Scanned and measured above; the extension (which covers WebSocket) skips it.
    req.data.insert(guard::Scanned);
    GraphQLResponse::from(g.schema.execute(req).await).into_response()
}

/// Nesting of a variable's value (serde_json already bounds it at 128).
fn value_depth(v: &async_graphql::Value) -> usize {
    match v {
        async_graphql::Value::List(l) => 1 + l.iter().map(value_depth).max().unwrap_or(0),
        async_graphql::Value::Object(o) => 1 + o.values().map(value_depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// graphql-transport-ws close code for a refused or revoked credential.
const CLOSE_FORBIDDEN: u16 = 4403;
/// graphql-transport-ws close code for a socket that sent no
/// `connection_init` in time.
const CLOSE_INIT_TIMEOUT: u16 = 4408;
/// How long a new socket may wait before its `connection_init`: an idle
/// unauthenticated socket holds a file descriptor and a place under the
/// connection cap.
pub const INIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Why a subscription socket ended, when the server ended it.
enum Ending {
    /// The session or the client ended it.
    Done,
    Revoked,
    InitTimeout,
    ShuttingDown,
}

async fn websocket(
    State(g): State<GqlState>,
    protocol: GraphQLProtocol,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let header_token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    upgrade
        .max_message_size(crate::BODY_LIMIT)
        .max_frame_size(crate::BODY_LIMIT)
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| serve_socket(g, protocol, header_token, socket))
}

/// One subscription socket. The credential accepted at `connection_init` is
/// checked again every `credential_recheck_ms`; once it is revoked the
/// socket closes with 4403 and no further event reaches it.
async fn serve_socket(
    g: GqlState,
    protocol: GraphQLProtocol,
    header_token: Option<String>,
    socket: axum::extract::ws::WebSocket,
) {
    use axum::extract::ws::{CloseFrame, Message};
    use futures::{SinkExt, StreamExt};
    let accepted: Arc<std::sync::Mutex<Option<String>>> = Arc::default();
    let (mut ws_sink, ws_stream) = socket.split();
    let (tx, mut rx) = futures::channel::mpsc::channel::<Message>(16);
    let app = g.app.clone();
    let token_slot = accepted.clone();
    // Set when `connection_init` is refused: async-graphql then closes with
    // 1002, where graphql-transport-ws specifies 4403 Forbidden.
    let refused = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let refused_in_init = refused.clone();
    let initialised = Arc::new(tokio::sync::Notify::new());
    let initialised_in_init = initialised.clone();
    let session = GraphQLWebSocket::new_with_pair(tx, ws_stream, g.schema.clone(), protocol)
        .on_connection_init(move |payload| async move {
            initialised_in_init.notify_one();
            let from_payload = payload
                .get("authorization")
                .or_else(|| payload.get("Authorization"))
                .and_then(|v| v.as_str())
                .map(str::to_string);
            let token = from_payload.or(header_token);
            let auth = authenticate(&app, token.as_deref()).await;
            if let Err(e) = &auth {
                refused_in_init.store(true, std::sync::atomic::Ordering::SeqCst);
                return Err(e.extend());
            }
            if let Ok(mut slot) = token_slot.lock() {
                *slot = token;
            }
            Ok(request_data(&app, auth))
        })
        .serve();
    let watch = watch_credential(g.app.clone(), accepted);
    let write = async {
        while let Some(mut m) = rx.next().await {
            if matches!(&m, Message::Close(Some(f)) if f.code == 1002)
                && refused.load(std::sync::atomic::Ordering::SeqCst)
            {
                m = Message::Close(Some(CloseFrame {
                    code: CLOSE_FORBIDDEN,
                    reason: "Forbidden".into(),
                }));
            }
            if ws_sink.send(m).await.is_err() {
                break;
            }
        }
    };
    let init_deadline = async {
        if tokio::time::timeout(INIT_TIMEOUT, initialised.notified())
            .await
            .is_ok()
        {
            std::future::pending::<()>().await;
        }
    };
    let ending = tokio::select! {
        _ = futures::future::join(session, write) => Ending::Done,
        _ = watch => Ending::Revoked,
        _ = init_deadline => Ending::InitTimeout,
        _ = g.app.shutdown.cancelled() => Ending::ShuttingDown,
    };
    let (code, reason) = match ending {
        Ending::Done => return,
        Ending::Revoked => (CLOSE_FORBIDDEN, "Forbidden"),
        Ending::InitTimeout => (CLOSE_INIT_TIMEOUT, "Connection initialisation timeout"),
        Ending::ShuttingDown => (1001, "Server shutting down"),
    };
    let _ = ws_sink
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        })))
        .await;
}

/// Returns once the accepted credential no longer authenticates (revoked).
/// A database failure is not a revocation: it is retried at the next tick.
async fn watch_credential(app: AppState, accepted: Arc<std::sync::Mutex<Option<String>>>) {
    let every = std::time::Duration::from_millis(app.config.credential_recheck_ms.max(10));
    loop {
        tokio::time::sleep(every).await;
        let token = accepted.lock().ok().and_then(|t| t.clone());
        let Some(token) = token else { continue };
        match credentials::authenticate(&app, &token).await {
            Err(Error::ApiKeyInvalid | Error::ApiKeyMissing) => return,
            _ => continue,
        }
    }
}

const GRAPHIQL_HTML: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Ikawaari Checkout — GraphiQL</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/graphql/assets/graphiql.min.css">
<style>body{margin:0;height:100vh}#graphiql{height:100vh}</style></head>
<body><div id="graphiql">Loading GraphiQL…</div>
<script src="/graphql/assets/react.production.min.js"></script>
<script src="/graphql/assets/react-dom.production.min.js"></script>
<script src="/graphql/assets/graphiql.min.js"></script>
<script src="/graphql/assets/graphiql-init.js"></script>
</body></html>"#;

const GRAPHIQL_INIT: &str = r#"(function () {
  // Subscriptions over graphql-transport-ws; the Headers tab's Authorization
  // is sent in connection_init.
  var ws = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/graphql/ws';
  var fetcher = GraphiQL.createFetcher({ url: '/graphql', subscriptionUrl: ws });
  var headers = JSON.stringify({ Authorization: 'Bearer ik_test_...' }, null, 2);
  var query = '# Put your key in the Headers tab below, then run:\n{\n  checkoutSessions(first: 10) {\n    totalCount\n    nodes { id status amountTotal currency created }\n  }\n}\n';
  // Headers (the secret key) live for this tab only: sessionStorage, never localStorage.
  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, { fetcher: fetcher, defaultQuery: query, defaultHeaders: headers, headerEditorEnabled: true, shouldPersistHeaders: true, storage: window.sessionStorage })
  );
})();
"#;

async fn graphiql() -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        GRAPHIQL_HTML,
    )
        .into_response()
}

async fn asset(axum::extract::Path(name): axum::extract::Path<String>) -> Response {
    let (body, ctype): (&'static [u8], &str) = match name.as_str() {
        "graphiql.min.js" => (include_bytes!("assets/graphiql.min.js"), "text/javascript"),
        "graphiql.min.css" => (include_bytes!("assets/graphiql.min.css"), "text/css"),
        "react.production.min.js" => (
            include_bytes!("assets/react.production.min.js"),
            "text/javascript",
        ),
        "react-dom.production.min.js" => (
            include_bytes!("assets/react-dom.production.min.js"),
            "text/javascript",
        ),
        "graphiql-init.js" => (GRAPHIQL_INIT.as_bytes(), "text/javascript"),
        _ => return Error::RouteNotFound.into_response(),
    };
    let mut res = body.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(ctype).unwrap_or(HeaderValue::from_static("text/plain")),
    );
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    res
}

pub fn router(state: AppState) -> Router<AppState> {
    let g = GqlState {
        schema: schema(Some(state.clone())),
        app: state,
    };
    Router::new()
        .route("/graphql", get(graphiql).post(execute))
        .route("/graphql/ws", get(websocket))
        .route("/graphql/assets/{name}", get(asset))
        .with_state(g)
}
