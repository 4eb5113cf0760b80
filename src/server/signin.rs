//! Signing in to the console, and the guard in front of every API route: a request is
//! authenticated by the API's bearer token (a machine, acting as admin, no CSRF) or by a session
//! cookie (a console user), then held to the policy table ([`super::users::need`]); a
//! cookie-authenticated change must come from this origin and carry the session's
//! `X-CSRF-Token`. The guard hands the handlers an [`Actor`] request extension.
//!
//! Routes: `POST/GET/DELETE /api/session`, `POST /api/session/password`, `GET/POST /api/users`,
//! `PUT/DELETE /api/users/{name}`, `GET /api/audit`. Sign-ins are throttled per account and per
//! address ([`Throttle`]); passwords are hashed and checked off the async threads, two at a
//! time; no password, hash or cookie is ever logged or answered.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use axum::Router;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};

use super::accounts::{Accounts, UserChange};
use super::csrf;
use super::https_flag::Https;
use super::store::Store;
use super::throttle::Throttle;
use super::users::{self, Account, Actor, Need, Role, SessionLimits, SignedIn};
use crate::push::Secret;

/// Largest body of these routes.
const BODY_LIMIT: usize = 16 * 1024;

/// Passwords hashed or checked at once (each takes 19 MiB and tens of milliseconds).
const HASHING_AT_ONCE: usize = 2;

/// What a [`Signin`] needs.
pub struct SigninSetup {
    /// The server's database.
    pub store: Store,
    /// The API's bearer token.
    pub token: Arc<Secret>,
    /// Session lifetime and idle limit.
    pub limits: SessionLimits,
    /// The config's zone names (what may be granted).
    pub zones: Vec<String>,
}

struct Inner {
    accounts: Accounts,
    token: Arc<Secret>,
    limits: SessionLimits,
    zones: Vec<String>,
    throttle: Mutex<Throttle>,
    hashing: tokio::sync::Semaphore,
}

/// Sign-in state: accounts, sessions, the throttle (cheap to clone).
#[derive(Clone)]
pub struct Signin {
    inner: Arc<Inner>,
}

impl Signin {
    /// Ready to sign users in.
    pub fn new(s: SigninSetup) -> Signin {
        Signin {
            inner: Arc::new(Inner {
                accounts: Accounts::new(s.store),
                token: s.token,
                limits: s.limits,
                zones: s.zones,
                throttle: Mutex::new(Throttle::default()),
                hashing: tokio::sync::Semaphore::new(HASHING_AT_ONCE),
            }),
        }
    }

    fn throttle(&self) -> std::sync::MutexGuard<'_, Throttle> {
        self.inner
            .throttle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// `f` (hashing or checking a password) on a blocking thread, at most
    /// [`HASHING_AT_ONCE`] at a time.
    async fn hashing<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Refusal> {
        let _permit = self.inner.hashing.acquire().await.map_err(internal)?;
        tokio::task::spawn_blocking(f).await.map_err(internal)
    }
}

impl Signin {
    /// `user`'s account if `password` is theirs; `Err(Some(wait))` while a throttle key
    /// (`keys`: the address's, and the user's) must wait, `Err(None)` for a wrong user or
    /// password (counted against every key). The keys are checked, the password verified and
    /// a failure counted while one hashing permit is held, so a burst of parallel guesses
    /// cannot all pass the check before the first failure counts. An unknown user costs what a
    /// wrong password does.
    async fn check_password(
        &self,
        keys: &[String],
        user: Option<&str>,
        password: String,
    ) -> Result<Result<Account, Option<std::time::Duration>>, Refusal> {
        let _permit = self.inner.hashing.acquire().await.map_err(internal)?;
        {
            let mut t = self.throttle();
            let now = Instant::now();
            if let Some(wait) = keys.iter().filter_map(|k| t.check(k, now).err()).max() {
                return Ok(Err(Some(wait)));
            }
        }
        let stored = match user {
            Some(u) => self.inner.accounts.get(u).map_err(internal)?,
            None => None,
        };
        let hash = stored
            .as_ref()
            .map_or_else(|| dummy_hash().to_owned(), |(_, h)| h.clone());
        let good = tokio::task::spawn_blocking(move || users::verify_password(&password, &hash))
            .await
            .map_err(internal)?;
        let mut t = self.throttle();
        match stored {
            Some((account, _)) if good => {
                for k in keys {
                    t.succeeded(k);
                }
                Ok(Ok(account))
            }
            _ => {
                let now = Instant::now();
                for k in keys {
                    t.failed(k, now);
                }
                Ok(Err(None))
            }
        }
    }
}

/// A JSON error, as the API answers them (`{"error": "..."}`).
struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut r = (self.0, Json(json!({ "error": self.1 }))).into_response();
        if self.0 == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"zonecast\""),
            );
        }
        r
    }
}

fn internal(e: impl std::fmt::Display) -> Refusal {
    Refusal(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

fn bad(e: impl std::fmt::Display) -> Refusal {
    Refusal(StatusCode::BAD_REQUEST, e.to_string())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Compare without leaking where the first difference is.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn header(h: &HeaderMap, name: impl header::AsHeaderName) -> Option<&str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// A request that looks sent on another site's behalf, refused.
fn refuse_cross_site(h: &HeaderMap) -> Result<(), Refusal> {
    match csrf::cross_site(
        header(h, header::ORIGIN),
        header(h, "sec-fetch-site"),
        header(h, header::HOST),
    ) {
        Some(why) => Err(Refusal(StatusCode::FORBIDDEN, why.to_owned())),
        None => Ok(()),
    }
}

const NO_CREDENTIALS: &str = "this API needs `Authorization: Bearer TOKEN` (the token named by \
     [server] token_env or token_file) or a console session (sign in with POST /api/session)";

/// The guard in front of every API route: who is asking (bearer token or session cookie),
/// whether the policy lets them, and for a cookie's changes the origin and CSRF token. Handlers
/// find the [`Actor`] in the request's extensions.
pub async fn guard(State(s): State<Signin>, mut req: Request, next: Next) -> Response {
    match authorize(&s, &req) {
        Ok(Some(actor)) => {
            req.extensions_mut().insert(actor);
            next.run(req).await
        }
        Ok(None) => next.run(req).await,
        Err(r) => r.into_response(),
    }
}

/// The actor of `req`, `None` for a public route asked without credentials, or the refusal.
fn authorize(s: &Signin, req: &Request) -> Result<Option<Actor>, Refusal> {
    let h = req.headers();
    let method = req.method().as_str();
    let need = users::need(method, req.uri().path());
    let bearer = header(h, header::AUTHORIZATION).and_then(|v| {
        v.split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim())
    });
    if let Some(t) = bearer {
        return if same(t.as_bytes(), s.inner.token.expose().as_bytes()) {
            Ok(Some(Actor::Token))
        } else {
            Err(Refusal(
                StatusCode::UNAUTHORIZED,
                "wrong bearer token".into(),
            ))
        };
    }
    if need == Need::Public {
        // Signing in: a cookie left from an ended session must not stand in the way.
        return Ok(None);
    }
    let cookie = header(h, header::COOKIE).and_then(csrf::session_cookie);
    let Some(cookie) = cookie else {
        return Err(Refusal(StatusCode::UNAUTHORIZED, NO_CREDENTIALS.into()));
    };
    let digest = users::token_digest(cookie);
    let now = now_ms();
    let row = s.inner.accounts.session(&digest).map_err(internal)?;
    let Some(row) = row else {
        return Err(Refusal(
            StatusCode::UNAUTHORIZED,
            "your session is not known (signed out, or ended): sign in again".into(),
        ));
    };
    if let Err(ended) = s.inner.limits.check(row.created_ms, row.last_ms, now) {
        let _ = s
            .inner
            .accounts
            .end_session(&digest, &row.account.name, false, now);
        return Err(Refusal(StatusCode::UNAUTHORIZED, ended.reason().into()));
    }
    let mutation = csrf::is_mutation(method);
    if mutation || h.contains_key(header::UPGRADE) {
        refuse_cross_site(h)?;
    }
    if mutation && !csrf::csrf_ok(header(h, csrf::CSRF_HEADER), &row.csrf) {
        return Err(Refusal(
            StatusCode::FORBIDDEN,
            "refused: a change from the console must carry the session's X-CSRF-Token header \
             (missing or wrong)"
                .into(),
        ));
    }
    if !users::allowed(row.account.role, need) {
        let needs = if need == Need::Admin {
            "an admin"
        } else {
            "an operator or admin"
        };
        return Err(Refusal(
            StatusCode::FORBIDDEN,
            format!(
                "{} is a {}: {method} {} needs {needs}",
                row.account.name,
                row.account.role.as_str(),
                req.uri().path()
            ),
        ));
    }
    if s.inner.limits.touch_due(row.last_ms, now) {
        s.inner
            .accounts
            .touch_session(&digest, now)
            .map_err(internal)?;
    }
    Ok(Some(Actor::User(SignedIn {
        account: row.account,
        session: digest,
        csrf: row.csrf,
    })))
}

/// The routes of this file. The API router puts them behind [`guard`] with its own (signing
/// in is public by the policy).
pub fn router<S: Clone + Send + Sync + 'static>(s: Signin) -> Router<S> {
    Router::new()
        .route("/api/session", post(sign_in).get(session).delete(sign_out))
        .route("/api/session/password", post(change_password))
        .route("/api/users", get(list_users).post(add_user))
        .route("/api/users/{name}", put(update_user).delete(remove_user))
        .route("/api/audit", get(audit))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(s)
}

/// A JSON body, or a 400/413/415 that does not repeat what was sent (it may hold a password).
fn body<T>(b: Result<Json<T>, JsonRejection>, shape: &str) -> Result<T, Refusal> {
    match b {
        Ok(Json(v)) => Ok(v),
        Err(JsonRejection::MissingJsonContentType(_)) => Err(Refusal(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the body as Content-Type: application/json".into(),
        )),
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(Refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is larger than {BODY_LIMIT} bytes"),
        )),
        Err(_) => Err(bad(format!("the body must be JSON {shape}"))),
    }
}

/// The session's JSON (`POST` and `GET /api/session`).
fn session_json(a: &Account, csrf: Option<&str>) -> Value {
    json!({ "user": a.name, "role": a.role, "zones": a.zones, "csrf": csrf })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignInBody {
    user: String,
    password: String,
}

/// Checked against for unknown users, so a wrong name costs what a wrong password does.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| users::hash_password("no such user, no such password").unwrap_or_default())
}

const WRONG: &str = "wrong user name or password";

/// `POST /api/session`.
async fn sign_in(
    State(s): State<Signin>,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    https: Option<Extension<Https>>,
    headers: HeaderMap,
    b: Result<Json<SignInBody>, JsonRejection>,
) -> Result<Response, Refusal> {
    refuse_cross_site(&headers)?;
    let b = body(b, r#"{"user": NAME, "password": PASSWORD}"#)?;
    let address = connect.map_or_else(|| "unknown".to_owned(), |c| c.0.0.ip().to_string());
    // Names that cannot be a user are wrong like any other (and not kept as throttle keys).
    let user_key = users::check_name(&b.user)
        .ok()
        .map(|()| format!("user:{}", b.user));
    let addr_key = format!("addr:{address}");
    let keys: Vec<String> = [Some(addr_key), user_key].into_iter().flatten().collect();
    let user = (keys.len() == 2).then_some(b.user.as_str());
    let account = match s.check_password(&keys, user, b.password).await? {
        Ok(account) => account,
        Err(Some(wait)) => {
            let secs = wait.as_secs().max(1);
            let mut r = Refusal(
                StatusCode::TOO_MANY_REQUESTS,
                format!("too many failed sign-ins: try again in {secs} s"),
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return Ok(r);
        }
        Err(None) => {
            tracing::warn!("sign-in refused from {address}");
            return Err(Refusal(StatusCode::UNAUTHORIZED, WRONG.into()));
        }
    };
    let cookie = users::new_token();
    let csrf_token = users::new_token();
    let now = now_ms();
    let limits = s.inner.limits;
    s.inner
        .accounts
        .start_session(
            &users::token_digest(&cookie),
            &account.name,
            &csrf_token,
            now,
            limits.expires_ms(now),
            &address,
        )
        .map_err(internal)?;
    tracing::info!("{} signed in from {address}", account.name);
    let set = csrf::set_cookie(&cookie, limits.lifetime.as_secs(), https.is_some());
    let mut r = (
        StatusCode::OK,
        Json(session_json(&account, Some(&csrf_token))),
    )
        .into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&set).map_err(internal)?,
    );
    Ok(r)
}

/// `GET /api/session`.
async fn session(Extension(actor): Extension<Actor>) -> Response {
    let v = match &actor {
        Actor::Token => {
            json!({ "user": users::TOKEN_ACTOR, "role": Role::Admin, "zones": null, "csrf": null })
        }
        Actor::User(u) => session_json(&u.account, Some(&u.csrf)),
    };
    Json(v).into_response()
}

/// `DELETE /api/session`.
async fn sign_out(
    State(s): State<Signin>,
    Extension(actor): Extension<Actor>,
    https: Option<Extension<Https>>,
) -> Result<Response, Refusal> {
    if let Actor::User(u) = &actor {
        s.inner
            .accounts
            .end_session(&u.session, &u.account.name, true, now_ms())
            .map_err(internal)?;
    }
    let clear = csrf::clear_cookie(https.is_some());
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&clear).map_err(internal)?,
    );
    Ok(r)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    old: String,
    new: String,
}

/// `POST /api/session/password`.
async fn change_password(
    State(s): State<Signin>,
    Extension(actor): Extension<Actor>,
    b: Result<Json<PasswordBody>, JsonRejection>,
) -> Result<Response, Refusal> {
    let b = body(b, r#"{"old": PASSWORD, "new": PASSWORD}"#)?;
    let Actor::User(u) = actor else {
        return Err(bad(
            "the API token has no password: change a user's with PUT /api/users/{name}",
        ));
    };
    let key = format!("user:{}", u.account.name);
    if let Err(wait) = s.throttle().check(&key, Instant::now()) {
        return Err(Refusal(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "too many wrong passwords: try again in {} s",
                wait.as_secs().max(1)
            ),
        ));
    }
    users::check_password(&b.new).map_err(bad)?;
    let (_, hash) = s
        .inner
        .accounts
        .get(&u.account.name)
        .map_err(internal)?
        .ok_or_else(|| Refusal(StatusCode::UNAUTHORIZED, "your user was removed".into()))?;
    let (old, new) = (b.old, b.new);
    let hashed = s
        .hashing(move || users::verify_password(&old, &hash).then(|| users::hash_password(&new)))
        .await?;
    let Some(hashed) = hashed else {
        s.throttle().failed(&key, Instant::now());
        return Err(Refusal(
            StatusCode::FORBIDDEN,
            "the old password is wrong".into(),
        ));
    };
    let change = UserChange {
        hash: Some(hashed.map_err(internal)?),
        ..UserChange::default()
    };
    let name = &u.account.name;
    s.inner
        .accounts
        .update(
            name,
            &change,
            name,
            "user.password",
            Some(&u.session),
            now_ms(),
        )
        .map_err(internal)?;
    Ok(Json(json!({ "user": name, "changed": true })).into_response())
}

/// `GET /api/users`.
async fn list_users(State(s): State<Signin>) -> Result<Response, Refusal> {
    let users = s.inner.accounts.list().map_err(internal)?;
    Ok(Json(json!({ "users": users })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUserBody {
    name: String,
    role: String,
    zones: Option<Vec<String>>,
    password: String,
}

/// `POST /api/users`.
async fn add_user(
    State(s): State<Signin>,
    Extension(actor): Extension<Actor>,
    b: Result<Json<NewUserBody>, JsonRejection>,
) -> Result<Response, Refusal> {
    let b = body(
        b,
        r#"{"name": NAME, "role": "admin"|"operator"|"viewer", "zones": [ZONE, ...], "password": PASSWORD}"#,
    )?;
    users::check_name(&b.name).map_err(bad)?;
    let role = Role::parse(&b.role).map_err(bad)?;
    let zones = users::check_grants(role, b.zones, &s.inner.zones).map_err(bad)?;
    users::check_password(&b.password).map_err(bad)?;
    let password = b.password;
    let hash = s
        .hashing(move || users::hash_password(&password))
        .await?
        .map_err(internal)?;
    let account = Account {
        name: b.name,
        role,
        zones,
    };
    let added = s
        .inner
        .accounts
        .add(&account, &hash, actor.name(), now_ms())
        .map_err(internal)?;
    if !added {
        return Err(Refusal(
            StatusCode::CONFLICT,
            format!(
                "user {:?} exists: change it with PUT /api/users/{}",
                account.name, account.name
            ),
        ));
    }
    tracing::info!(
        "{} added user {} ({})",
        actor.name(),
        account.name,
        role.as_str()
    );
    Ok((StatusCode::CREATED, Json(json!(account))).into_response())
}

/// `Some(v)` for a field given (even as `null`): tells "every zone" from "unchanged".
fn given<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    role: Option<String>,
    #[serde(default, deserialize_with = "given")]
    zones: Option<Option<Vec<String>>>,
    password: Option<String>,
}

/// `PUT /api/users/{name}`.
async fn update_user(
    State(s): State<Signin>,
    Extension(actor): Extension<Actor>,
    Path(name): Path<String>,
    b: Result<Json<UpdateBody>, JsonRejection>,
) -> Result<Response, Refusal> {
    let b = body(
        b,
        r#"{"role": ROLE?, "zones": [ZONE, ...] | null?, "password": PASSWORD?}"#,
    )?;
    let Some((before, _)) = s.inner.accounts.get(&name).map_err(internal)? else {
        return Err(Refusal(StatusCode::NOT_FOUND, format!("no user {name:?}")));
    };
    let role = b
        .role
        .as_deref()
        .map(Role::parse)
        .transpose()
        .map_err(bad)?;
    let new_role = role.unwrap_or(before.role);
    // Grants stay with an operator; another role has none.
    let zones = match b.zones {
        Some(z) => z,
        None if new_role == Role::Operator => before.zones.clone(),
        None => None,
    };
    let zones = users::check_grants(new_role, zones, &s.inner.zones).map_err(bad)?;
    let hash = match b.password {
        Some(p) => {
            users::check_password(&p).map_err(bad)?;
            Some(
                s.hashing(move || users::hash_password(&p))
                    .await?
                    .map_err(internal)?,
            )
        }
        None => None,
    };
    let change = UserChange {
        role,
        zones: Some(zones),
        hash,
    };
    let after = s
        .inner
        .accounts
        .update(&name, &change, actor.name(), "user.update", None, now_ms())
        .map_err(internal)?
        .ok_or_else(|| Refusal(StatusCode::NOT_FOUND, format!("no user {name:?}")))?;
    tracing::info!("{} changed user {name}", actor.name());
    Ok(Json(json!(after)).into_response())
}

/// `DELETE /api/users/{name}`.
async fn remove_user(
    State(s): State<Signin>,
    Extension(actor): Extension<Actor>,
    Path(name): Path<String>,
) -> Result<Response, Refusal> {
    if s.inner
        .accounts
        .remove(&name, actor.name(), now_ms())
        .map_err(internal)?
    {
        tracing::info!("{} removed user {name}", actor.name());
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(Refusal(StatusCode::NOT_FOUND, format!("no user {name:?}")))
    }
}

#[derive(Deserialize)]
struct AuditQuery {
    limit: Option<usize>,
}

/// `GET /api/audit`.
async fn audit(
    State(s): State<Signin>,
    q: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Response, Refusal> {
    let Query(q) = q.map_err(|e| bad(e.body_text()))?;
    let limit = match q.limit.unwrap_or(100) {
        n @ 1..=1000 => n,
        n => return Err(bad(format!("limit {n}: must be 1..=1000"))),
    };
    let entries = s.inner.accounts.audit_log(limit).map_err(internal)?;
    Ok(Json(json!({ "entries": entries })).into_response())
}
