//! `spoor serve CASE`: the local review UI (issue 15). axum on tokio, used by this command
//! only; every page is rendered on the server (maud, escaped by default) and every asset is in
//! the binary, so it works offline and nothing is fetched from a CDN.
//!
//! Security, as the issue asks: loopback unless `--allow-remote`; an access token printed at
//! start and a reviewer's name at log-in make a session (a random id in an HttpOnly,
//! SameSite=Strict cookie) that expires after `SESSION_IDLE` without use; every state-changing
//! request carries the session's CSRF token; the reviewer's name comes from the session,
//! never from a form; no request names a file: pictures are reached through a lead or an
//! item id, their thumbnail key is read from the store and checked as 64 hex digits; the Host
//! header must name this server (no DNS rebinding); every response carries a strict
//! Content-Security-Policy. Decisions and reveals go through `review::decide` and
//! `review::reveal`, which write their own audit entries, as the CLI's do.

mod auth;
pub mod basemap;
pub mod layout;
mod pages;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::store;

pub use auth::random_hex;

/// A session ends after this long without a request.
pub const SESSION_IDLE: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// Leads per page of the queue.
pub const QUEUE_PAGE: usize = 50;

/// What the server needs, shared by every request.
pub struct App {
    case_dir: PathBuf,
    token: String,
    /// The address served, as the Host header must name it.
    hosts: Vec<String>,
    sessions: auth::Sessions,
}

/// Where `spoor serve` listens: loopback unless the examiner says otherwise.
pub fn check_bind(bind: &SocketAddr, allow_remote: bool) -> Result<(), String> {
    if bind.ip().is_loopback() || allow_remote {
        Ok(())
    } else {
        Err(format!(
            "--bind {bind}: not a loopback address; the review UI shows evidence and takes decisions, so it listens on 127.0.0.1 unless --allow-remote is given"
        ))
    }
}

/// Serves the case until the process is stopped. `announce` is called with the URL and the
/// access token once the port is bound (port 0 picks a free one).
pub fn serve(
    case_dir: PathBuf,
    bind: SocketAddr,
    allow_remote: bool,
    announce: impl FnOnce(&str, &str),
) -> Result<(), String> {
    check_bind(&bind, allow_remote)?;
    // Open it once here, so that a wrong directory or a newer schema is an error now.
    store::open_store(&store::existing(&case_dir)?)?;
    let token = random_hex(16)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_io()
        .build()
        .map_err(|e| format!("web server: {e}"))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .map_err(|e| format!("--bind {bind}: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let mut hosts = vec![addr.to_string()];
        if addr.ip().is_loopback() {
            hosts.push(format!("localhost:{}", addr.port()));
        }
        let app = Arc::new(App {
            case_dir,
            token: token.clone(),
            hosts,
            sessions: auth::Sessions::default(),
        });
        announce(&format!("http://{addr}/login"), &token);
        axum::serve(listener, router(app))
            .await
            .map_err(|e| format!("web server: {e}"))
    })
}

fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/queue") }))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/queue", get(queue))
        .route("/lead/{id}", get(lead))
        .route("/lead/{id}/thumb", get(lead_thumb))
        .route("/lead/{id}/decide", post(decide))
        .route("/lead/{id}/reveal", post(reveal))
        .route("/item/{id}", get(item))
        .route("/item/{id}/thumb", get(item_thumb))
        .route("/network", get(network))
        .route("/identity/records", get(identity_records))
        .route("/map", get(map))
        .route("/audit", get(audit))
        .route("/report", get(report))
        .route("/assets/{name}", get(asset))
        .fallback(|| async { not_found() })
        .layer(axum::middleware::from_fn_with_state(app.clone(), guard))
        .with_state(app)
}

/// Every response: the Host header checked first, then the strict headers added.
async fn guard(
    State(app): State<Arc<App>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let mut response = if app.hosts.iter().any(|h| h == host) {
        next.run(request).await
    } else {
        (
            StatusCode::MISDIRECTED_REQUEST,
            "this server answers to its own address only",
        )
            .into_response()
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(pages::message("Not found", "No such page.")),
    )
        .into_response()
}

fn failure(e: String) -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Html(pages::message("Error", &e)),
    )
        .into_response()
}

fn refused(status: StatusCode, why: &str) -> Response {
    (status, Html(pages::message("Refused", why))).into_response()
}

/// Runs store work off the async workers, on a connection of its own.
async fn with_store<T: Send + 'static>(
    app: &Arc<App>,
    work: impl FnOnce(&mut rusqlite::Connection) -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    let dir = app.case_dir.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = store::open_store(&store::existing(&dir)?)?;
        work(&mut conn)
    })
    .await
    .map_err(|e| format!("web server: {e}"))?
}

/// A lead id as spoor makes them (`L` and 12 hex digits), nothing else.
fn lead_id(id: &str) -> Option<String> {
    (id.len() == 13 && id.starts_with('L') && id[1..].bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| id.to_string())
}

/// The session of a state-changing request on a lead (its CSRF token checked) and the lead id,
/// or the response that refuses it.
fn lead_action(
    app: &App,
    headers: &HeaderMap,
    csrf: &str,
    id: &str,
) -> Result<(auth::Session, String), Box<Response>> {
    let session = app
        .sessions
        .check(headers, Some(csrf))
        .map_err(|r| Box::new(r.into_response()))?;
    let id = lead_id(id).ok_or_else(|| Box::new(not_found()))?;
    Ok((session, id))
}

/// What the lead page shows: the lead, its decisions, the rules' statistics, its item.
/// The session of a request that only reads (a page): refused like any other request
/// without one (the log-in page, or 401 for a script). Every page handler takes it.
pub(crate) struct Viewer(pub auth::Session);

impl axum::extract::FromRequestParts<Arc<App>> for Viewer {
    type Rejection = auth::Refusal;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        app: &Arc<App>,
    ) -> Result<Self, Self::Rejection> {
        app.sessions.check(&parts.headers, None).map(Viewer)
    }
}

/// What the lead page shows, read in one blocking call.
pub(crate) struct LeadPage {
    pub row: crate::model::LeadRow,
    pub reviews: Vec<crate::model::ReviewRow>,
    pub stats: Vec<crate::review::RuleStats>,
    /// The item it is about, with that item's observations (their boxes go on the picture).
    pub item: Option<(i64, Vec<crate::model::StoredObservation>)>,
}

fn lead_page(conn: &rusqlite::Connection, id: &str) -> Result<Option<LeadPage>, String> {
    let db = |e: rusqlite::Error| format!("case store: {e}");
    let Some(row) = store::web::lead(conn, id).map_err(db)? else {
        return Ok(None);
    };
    let reviews = store::leads::reviews_of(conn, id).map_err(db)?;
    let stats = crate::review::rule_stats(conn)?;
    let item = match store::web::lead_item(conn, id).map_err(db)? {
        Some(i) => Some((i, store::web::item_observations(conn, i).map_err(db)?)),
        None => None,
    };
    Ok(Some(LeadPage {
        row,
        reviews,
        stats,
        item,
    }))
}

async fn login_form() -> Html<String> {
    Html(pages::login(None))
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
    reviewer: String,
}

async fn login(State(app): State<Arc<App>>, Form(f): Form<LoginForm>) -> Response {
    if !auth::same(f.token.trim().as_bytes(), app.token.as_bytes()) {
        return (
            StatusCode::FORBIDDEN,
            Html(pages::login(Some("wrong access token"))),
        )
            .into_response();
    }
    let reviewer = f.reviewer.trim();
    if reviewer.is_empty() || reviewer.len() > 200 || reviewer.chars().any(char::is_control) {
        return (
            StatusCode::BAD_REQUEST,
            Html(pages::login(Some("your name, as decisions will record it"))),
        )
            .into_response();
    }
    match app.sessions.open(reviewer) {
        Ok(id) => {
            let mut r = Redirect::to("/queue").into_response();
            if let Ok(v) = HeaderValue::from_str(&auth::cookie(&id)) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        Err(e) => failure(e),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Response {
    match app.sessions.check(&headers, Some(&f.csrf)) {
        Ok(s) => {
            app.sessions.close(&s.id);
            Redirect::to("/login").into_response()
        }
        Err(r) => r.into_response(),
    }
}

#[derive(Deserialize, Default)]
struct QueueQuery {
    rule: Option<String>,
    state: Option<String>,
    subject: Option<String>,
    min_score: Option<String>,
    page: Option<usize>,
}

fn nonempty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

async fn queue(
    State(app): State<Arc<App>>,
    Viewer(session): Viewer,
    Query(q): Query<QueueQuery>,
) -> Response {
    let filter = store::web::QueueFilter {
        rule: nonempty(q.rule),
        state: nonempty(q.state),
        subject: nonempty(q.subject),
        min_score: nonempty(q.min_score)
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|x| x.is_finite()),
    };
    let page = q.page.unwrap_or(1).max(1);
    let f = filter.clone();
    let found = with_store(&app, move |conn| {
        let (rows, total) = store::web::queue_page(conn, &f, (page - 1) * QUEUE_PAGE, QUEUE_PAGE)
            .map_err(|e| format!("case store: {e}"))?;
        let rules = crate::leads::rules_in_force(conn)?
            .rules
            .iter()
            .map(|r| r.id.clone())
            .collect::<Vec<_>>();
        Ok((rows, total, rules))
    })
    .await;
    match found {
        Ok((rows, total, rules)) => {
            Html(pages::queue(&session, &filter, &rules, &rows, total, page)).into_response()
        }
        Err(e) => failure(e),
    }
}

async fn lead(
    State(app): State<Arc<App>>,
    Viewer(session): Viewer,
    Path(id): Path<String>,
) -> Response {
    let Some(id) = lead_id(&id) else {
        return not_found();
    };
    let found = with_store(&app, move |conn| lead_page(conn, &id)).await;
    match found {
        Ok(Some(page)) => Html(pages::lead(&session, &page, None)).into_response(),
        Ok(None) => not_found(),
        Err(e) => failure(e),
    }
}

/// The thumbnail key of a lead's picture: its own, or the first of its group's members that
/// has a thumbnail. Checked as 64 hex digits before it becomes a path.
fn thumbnail_of(row: &crate::model::LeadRow, thumbs: &std::path::Path) -> Option<String> {
    let hex = |k: &&str| k.len() == 64 && k.bytes().all(|b| b.is_ascii_hexdigit());
    let own = row.thumbnail_key.as_deref().filter(hex).map(str::to_string);
    own.or_else(|| {
        row.hits["subject"]["members"]
            .as_array()?
            .iter()
            .filter_map(|m| m["sha256"].as_str())
            .filter(hex)
            .find(|k| crate::media::thumbs::exists(thumbs, k))
            .map(str::to_string)
    })
}

fn jpeg(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "image/jpeg")], bytes).into_response()
}

/// A lead's picture, blurred (a coarse mosaic): what every page shows until a reviewer
/// reveals it with a reason.
async fn lead_thumb(
    State(app): State<Arc<App>>,
    _viewer: Viewer,
    Path(id): Path<String>,
) -> Response {
    let Some(id) = lead_id(&id) else {
        return not_found();
    };
    let dir = app.case_dir.clone();
    let found = with_store(&app, move |conn| {
        let Some(row) = store::web::lead(conn, &id).map_err(|e| format!("case store: {e}"))? else {
            return Ok(None);
        };
        let thumbs = dir.join("thumbs");
        let Some(key) = thumbnail_of(&row, &thumbs) else {
            return Ok(None);
        };
        let bytes = crate::media::thumbs::read(&thumbs, &key)?;
        crate::media::thumbs::blurred(&bytes).map(Some)
    })
    .await;
    match found {
        Ok(Some(b)) => jpeg(b),
        Ok(None) => not_found(),
        Err(e) => failure(e),
    }
}

#[derive(Deserialize)]
struct DecideForm {
    csrf: String,
    decision: String,
    reason: String,
    /// Where to go after: the queue (keyboard review) or the lead.
    next: Option<String>,
}

async fn decide(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<DecideForm>,
) -> Response {
    let (session, id) = match lead_action(&app, &headers, &f.csrf, &id) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let decision = match crate::review::Decision::parse(&f.decision) {
        Ok(d) => d,
        Err(e) => return refused(StatusCode::BAD_REQUEST, &e),
    };
    let reviewer = session.reviewer.clone();
    let lead = id.clone();
    let done = with_store(&app, move |conn| {
        crate::review::decide(conn, &lead, decision, &reviewer, &f.reason)
    })
    .await;
    match done {
        Ok(_) if f.next.as_deref() == Some("queue") => Redirect::to("/queue").into_response(),
        Ok(_) => Redirect::to(&format!("/lead/{id}")).into_response(),
        Err(e) if e.starts_with("case store") => failure(e),
        Err(e) => refused(StatusCode::CONFLICT, &e),
    }
}

#[derive(Deserialize)]
struct RevealForm {
    csrf: String,
    reason: String,
}

/// The unblurred picture, in the page itself (a data URI: no URL that shows it again), after
/// `review::reveal` wrote who looked and why.
async fn reveal(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<RevealForm>,
) -> Response {
    let (session, id) = match lead_action(&app, &headers, &f.csrf, &id) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let reviewer = session.reviewer.clone();
    let dir = app.case_dir.clone();
    let done = with_store(&app, move |conn| {
        let path = crate::review::reveal(conn, &dir, &id, &reviewer, &f.reason)?;
        let bytes = std::fs::read(&path).map_err(|e| format!("thumbnail: {e}"))?;
        let page = lead_page(conn, &id)?.ok_or("the lead is gone")?;
        Ok((page, bytes))
    })
    .await;
    match done {
        Ok((page, bytes)) => Html(pages::lead(&session, &page, Some(&bytes))).into_response(),
        Err(e) if e.starts_with("case store") => failure(e),
        Err(e) => refused(StatusCode::BAD_REQUEST, &e),
    }
}

async fn item(
    State(app): State<Arc<App>>,
    Viewer(session): Viewer,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return not_found();
    };
    let found = with_store(&app, move |conn| {
        store::web::item(conn, id, 500).map_err(|e| format!("case store: {e}"))
    })
    .await;
    match found {
        Ok(Some(view)) => Html(pages::item(&session, &view)).into_response(),
        Ok(None) => not_found(),
        Err(e) => failure(e),
    }
}

/// An item's picture, blurred, with the boxes its detectors found drawn by the page (SVG).
async fn item_thumb(
    State(app): State<Arc<App>>,
    _viewer: Viewer,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return not_found();
    };
    let dir = app.case_dir.clone();
    let found = with_store(&app, move |conn| {
        let Some(view) = store::web::item(conn, id, 0).map_err(|e| format!("case store: {e}"))?
        else {
            return Ok(None);
        };
        let Some(key) = view.thumbnail_key else {
            return Ok(None);
        };
        let bytes = crate::media::thumbs::read(&dir.join("thumbs"), &key)?;
        crate::media::thumbs::blurred(&bytes).map(Some)
    })
    .await;
    match found {
        Ok(Some(b)) => jpeg(b),
        Ok(None) => not_found(),
        Err(e) => failure(e),
    }
}

#[derive(Deserialize, Default)]
struct PageQuery {
    page: Option<usize>,
}

#[derive(Deserialize)]
struct IdentityQuery {
    key: String,
    page: Option<usize>,
}

/// Records a page of the identity's records shows.
pub const RECORDS_PAGE: usize = 100;

async fn identity_records(
    State(app): State<Arc<App>>,
    Viewer(session): Viewer,
    Query(q): Query<IdentityQuery>,
) -> Response {
    let page = q.page.unwrap_or(1).max(1);
    let found = with_store(&app, move |conn| {
        let db = |e: rusqlite::Error| format!("case store: {e}");
        let Some(node) = store::web::network_node(conn, q.key.trim()).map_err(db)? else {
            return Ok(None);
        };
        let (key, label) = store::web::network_node_label(conn, node).map_err(db)?;
        let (rows, total) =
            store::web::identity_records(conn, node, (page - 1) * RECORDS_PAGE, RECORDS_PAGE)
                .map_err(db)?;
        Ok(Some((key, label, rows, total)))
    })
    .await;
    match found {
        Ok(Some((key, label, rows, total))) => Html(pages::identity_records(
            &session, &key, &label, &rows, total, page,
        ))
        .into_response(),
        Ok(None) => refused(
            StatusCode::NOT_FOUND,
            "no such identity in the stored network",
        ),
        Err(e) => failure(e),
    }
}

async fn audit(
    State(app): State<Arc<App>>,
    Viewer(session): Viewer,
    Query(q): Query<PageQuery>,
) -> Response {
    let page = q.page.unwrap_or(1).max(1);
    let found = with_store(&app, move |conn| {
        let db = |e: rusqlite::Error| format!("case store: {e}");
        let (rows, total) = store::web::audit_page(conn, (page - 1) * 100, 100).map_err(db)?;
        let verdict = match store::audit::verify(conn).map_err(db)? {
            store::audit::Verdict::Intact { entries, .. } => {
                format!("intact: {entries} entries, each hash chained to the one before")
            }
            store::audit::Verdict::Broken { seq, reason } => {
                format!("BROKEN at entry {seq}: {reason}")
            }
        };
        Ok((rows, total, verdict))
    })
    .await;
    match found {
        Ok((rows, total, verdict)) => {
            Html(pages::audit(&session, &rows, total, page, &verdict)).into_response()
        }
        Err(e) => failure(e),
    }
}

/// The HTML report, written as `spoor report` writes it (its own audit entry, by the
/// session's reviewer), sent as a download.
async fn report(State(app): State<Arc<App>>, Viewer(session): Viewer) -> Response {
    let dir = app.case_dir.clone();
    let reviewer = session.reviewer.clone();
    let done = with_store(&app, move |conn| {
        let path = crate::report::write_report(
            conn,
            &dir,
            crate::report::Format::Html,
            None,
            &reviewer,
            None,
        )?;
        std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))
    })
    .await;
    match done {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"report.html\"",
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => failure(e),
    }
}

/// The page's own stylesheet and script, from the binary; any other name is not found.
async fn asset(Path(name): Path<String>) -> Response {
    match name.as_str() {
        "app.css" => ([(header::CONTENT_TYPE, "text/css")], pages::CSS).into_response(),
        "app.js" => ([(header::CONTENT_TYPE, "text/javascript")], pages::JS).into_response(),
        _ => not_found(),
    }
}

#[derive(Deserialize, Default)]
struct NetworkQuery {
    around: Option<String>,
    depth: Option<usize>,
    metric: Option<String>,
    /// Only contacts up to this day (YYYY-MM-DD): the time slider.
    until: Option<String>,
    /// Draw the earliest time-respecting path from `around` to this identity.
    to: Option<String>,
}

/// One hop of a time-respecting path: its ends as indexes into the nodes shown (None where
/// the hop leaves the drawn neighbourhood), and the hop in words (time, who, kind).
pub type Hop = (Option<usize>, Option<usize>, String);

/// What the network page shows.
pub struct NetworkView {
    pub around: String,
    pub depth: usize,
    pub metric: String,
    pub until: Option<String>,
    pub to: Option<String>,
    pub hood: store::web::Neighbourhood,
    pub positions: Vec<(f64, f64)>,
    /// Identity leads, by node key.
    pub leads: std::collections::HashMap<String, String>,
    pub ledger: Vec<serde_json::Value>,
    /// The time-respecting path's hops, when one was asked for.
    pub path: Option<Vec<Hop>>,
    /// The days the neighbourhood's contacts span, for the slider.
    pub days: Option<(String, String)>,
    pub top: Vec<(String, String, f64)>,
}

pub const METRICS: &[&str] = &[
    "degree",
    "strength",
    "betweenness",
    "pagerank",
    "eigenvector",
    "core",
];

async fn network(
    State(app): State<Arc<App>>,
    Viewer(session): Viewer,
    Query(q): Query<NetworkQuery>,
) -> Response {
    let metric = nonempty(q.metric)
        .filter(|m| METRICS.contains(&m.as_str()))
        .unwrap_or_else(|| "betweenness".into());
    let depth = q.depth.unwrap_or(1).clamp(1, 3);
    let until = nonempty(q.until).filter(|d| {
        d.len() == 10 && crate::graph::network::epoch_seconds(&format!("{d}T23:59:59")).is_some()
    });
    let around = nonempty(q.around);
    let to = nonempty(q.to);
    let found = with_store(&app, move |conn| {
        network_view(conn, around, depth, metric, until, to)
    })
    .await;
    match found {
        Ok(view) => Html(pages::network(&session, &view)).into_response(),
        Err(e) if e.starts_with("case store") => failure(e),
        Err(e) => refused(StatusCode::NOT_FOUND, &e),
    }
}

fn network_view(
    conn: &mut rusqlite::Connection,
    around: Option<String>,
    depth: usize,
    metric: String,
    until: Option<String>,
    to: Option<String>,
) -> Result<NetworkView, String> {
    let db = |e: rusqlite::Error| format!("case store: {e}");
    // The start page's list of brokers only: it reads every node's metrics (0.2 s on
    // 100,000 people).
    let top = if around.is_none() {
        store::web::top_identities(conn, 15).map_err(db)?
    } else {
        Vec::new()
    };
    let mut view = NetworkView {
        around: around.clone().unwrap_or_default(),
        depth,
        metric,
        until: until.clone(),
        to: to.clone(),
        hood: Default::default(),
        positions: Vec::new(),
        leads: Default::default(),
        ledger: Vec::new(),
        path: None,
        days: None,
        top,
    };
    let Some(around) = around else {
        return Ok(view);
    };
    let centre = store::web::network_node(conn, &around)
        .map_err(db)?
        .ok_or_else(|| format!("no identity {around:?} in the case's network"))?;
    let mut hood = store::web::neighbourhood(conn, centre, depth, layout::MAX_NODES).map_err(db)?;
    let first = hood.edges.iter().filter_map(|e| e.2.first.clone()).min();
    let last = hood.edges.iter().filter_map(|e| e.2.last.clone()).max();
    view.days = first
        .zip(last)
        .map(|(a, b)| (a.chars().take(10).collect(), b.chars().take(10).collect()));
    if let Some(day) = &until {
        let end = format!("{day}T23:59:59");
        // Only the contacts up to that day; a tie with none left is not drawn.
        for e in &mut hood.edges {
            let kept =
                e.2.times
                    .iter()
                    .filter(|t| t.as_str() <= end.as_str())
                    .count();
            let untimed = e.2.count.saturating_sub(e.2.times.len() as u64);
            e.2.count = kept as u64
                + if e.2.first.as_deref().is_some_and(|f| f <= end.as_str()) {
                    untimed
                } else {
                    0
                };
        }
        hood.edges.retain(|e| e.2.count > 0);
    }
    let ties: Vec<(usize, usize, f64)> = hood
        .edges
        .iter()
        .map(|(a, b, e)| (*a, *b, e.count as f64))
        .collect();
    view.positions = layout::force_layout(hood.nodes.len(), &ties, 300);
    for (_, node, _, _) in &hood.nodes {
        let id = crate::leads::identity_lead_id(&node.key);
        if store::web::lead_exists(conn, &id).map_err(db)? {
            view.leads.insert(node.key.clone(), id);
        }
    }
    view.ledger = store::web::ledger_of(conn, centre).map_err(db)?;
    if let Some(to) = &to {
        let analysed = crate::graph::of_case(conn)?;
        let network = &analysed.network;
        let (a, b) = (
            crate::graph::find_node(network, &hood.nodes[0].1.key)?,
            crate::graph::find_node(network, to)?,
        );
        let events = crate::graph::paths::events(network);
        let shown = |i: usize| {
            hood.nodes
                .iter()
                .position(|n| n.1.key == network.nodes[i].key)
        };
        view.path = Some(
            crate::graph::paths::earliest_arrival(&events, network.nodes.len(), a, b, None, None)
                .unwrap_or_default()
                .iter()
                .map(|e| {
                    (
                        shown(e.from),
                        shown(e.to),
                        format!(
                            "{}  {} → {}  {}",
                            e.time,
                            network.nodes[e.from].label,
                            network.nodes[e.to].label,
                            e.kind.as_str()
                        ),
                    )
                })
                .collect(),
        );
    }
    view.hood = hood;
    Ok(view)
}

#[derive(Deserialize, Default)]
struct MapQuery {
    /// west,south,east,north in degrees.
    bbox: Option<String>,
}

/// What the map page shows: the view's box, the pictures' positions, the places of interest.
pub struct MapView {
    pub bbox: (f64, f64, f64, f64),
    pub points: Vec<store::web::GpsPoint>,
    pub places: Vec<(String, f64, f64, f64)>,
}

fn parse_bbox(text: &str) -> Option<(f64, f64, f64, f64)> {
    let v: Vec<f64> = text
        .split(',')
        .map(|x| x.trim().parse().ok())
        .collect::<Option<_>>()?;
    let [w, s, e, n] = v[..] else { return None };
    let ok = [w, s, e, n].iter().all(|x| x.is_finite())
        && (-180.0..=180.0).contains(&w)
        && (-180.0..=180.0).contains(&e)
        && (-90.0..=90.0).contains(&s)
        && (-90.0..=90.0).contains(&n)
        && w < e
        && s < n;
    ok.then_some((w, s, e, n))
}

async fn map(
    State(app): State<Arc<App>>,
    Viewer(session): Viewer,
    Query(q): Query<MapQuery>,
) -> Response {
    let asked = nonempty(q.bbox).and_then(|b| parse_bbox(&b));
    let found = with_store(&app, move |conn| {
        let db = |e: rusqlite::Error| format!("case store: {e}");
        let points = store::web::gps_points(conn).map_err(db)?;
        let places = store::web::places_of_interest(conn).map_err(db)?;
        Ok((points, places))
    })
    .await;
    match found {
        Ok((points, places)) => {
            let bbox = asked.unwrap_or_else(|| {
                let all = points
                    .iter()
                    .map(|p| (p.longitude, p.latitude))
                    .chain(places.iter().map(|p| (p.2, p.1)));
                fit(all, 1.0)
            });
            Html(pages::map(
                &session,
                &MapView {
                    bbox,
                    points,
                    places,
                },
            ))
            .into_response()
        }
        Err(e) => failure(e),
    }
}

/// The box around `points` (longitude, latitude), padded by a fifth and by at least
/// `min_pad` degrees on each side; the whole world when there is none. The case's view pads by
/// a degree, so that borders and coasts show where the pictures are; a cluster's zoom by
/// 0.0005° (about 50 m), so that its pictures stand apart.
pub fn fit(points: impl Iterator<Item = (f64, f64)>, min_pad: f64) -> (f64, f64, f64, f64) {
    let (mut w, mut s, mut e, mut n) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for (lon, lat) in points {
        w = w.min(lon);
        e = e.max(lon);
        s = s.min(lat);
        n = n.max(lat);
    }
    if w > e {
        return (-180.0, -85.0, 180.0, 85.0);
    }
    let pad_x = ((e - w) * 0.2).max(min_pad);
    let pad_y = ((n - s) * 0.2).max(min_pad);
    (
        (w - pad_x).max(-180.0),
        (s - pad_y).max(-90.0),
        (e + pad_x).min(180.0),
        (n + pad_y).min(90.0),
    )
}
