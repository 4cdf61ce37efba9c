//! A webhook receiver for the tests: a local axum server on 127.0.0.1:0 that answers the
//! handshake, records every request, and answers POSTs as the test tells it to.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use tokio::sync::watch;

/// How the receiver answers a POST.
#[derive(Clone, Debug)]
pub(crate) enum Answer {
    /// `status` for the first `times` attempts at each `webhook-id`, then 200.
    FailFirst { times: usize, status: u16 },
    /// Always `status`.
    Always(u16),
    /// 200, but only once the test sends `true` on the channel.
    HangUntil(watch::Receiver<bool>),
}

/// One request as received.
#[derive(Clone, Debug)]
pub(crate) struct Hit {
    pub(crate) method: Method,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
    /// The status the receiver chose (sent at once, or after the hang ends).
    pub(crate) status: u16,
}

impl Hit {
    pub(crate) fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub(crate) fn id(&self) -> &str {
        self.header("webhook-id")
    }
}

#[derive(Default)]
struct Inner {
    hits: Vec<Hit>,
    answer: Option<Answer>,
    attempts: HashMap<String, usize>,
}

/// A running receiver.
#[derive(Clone)]
pub(crate) struct Receiver {
    pub(crate) url: String,
    inner: Arc<Mutex<Inner>>,
}

impl Receiver {
    pub(crate) async fn start(answer: Answer) -> Self {
        let inner = Arc::new(Mutex::new(Inner {
            answer: Some(answer),
            ..Inner::default()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let url = format!("http://{}/hook", listener.local_addr().expect("address"));
        let app = Router::new()
            .route("/hook", any(handle))
            .with_state(inner.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, inner }
    }

    /// Every request so far.
    pub(crate) fn hits(&self) -> Vec<Hit> {
        self.inner.lock().expect("lock").hits.clone()
    }

    /// The POSTs so far.
    pub(crate) fn posts(&self) -> Vec<Hit> {
        self.hits()
            .into_iter()
            .filter(|h| h.method == Method::POST)
            .collect()
    }

    /// The ids answered with a 2xx, in the order they were answered.
    pub(crate) fn delivered_ids(&self) -> Vec<String> {
        self.posts()
            .iter()
            .filter(|h| (200..300).contains(&h.status))
            .map(|h| h.id().to_owned())
            .collect()
    }

    /// Answer POSTs this way from now on.
    pub(crate) fn answer(&self, answer: Answer) {
        self.inner.lock().expect("lock").answer = Some(answer);
    }
}

async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if method == Method::OPTIONS {
        let origin = headers
            .get("webhook-request-origin")
            .cloned()
            .unwrap_or(axum::http::HeaderValue::from_static("none"));
        record(&inner, method, headers, body, 200);
        return (StatusCode::OK, [("WebHook-Allowed-Origin", origin)]).into_response();
    }
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let answer = {
        let mut inner = inner.lock().expect("lock");
        let attempt = inner.attempts.entry(id).or_insert(0);
        *attempt += 1;
        let attempt = *attempt;
        match inner.answer.clone().expect("an answer") {
            Answer::FailFirst { times, status } if attempt <= times => Ok(status),
            Answer::FailFirst { .. } => Ok(200),
            Answer::Always(status) => Ok(status),
            Answer::HangUntil(release) => Err(release),
        }
    };
    let status = match answer {
        Ok(status) => status,
        Err(mut release) => {
            record(&inner, method.clone(), headers.clone(), body.clone(), 200);
            let _ = release.wait_for(|go| *go).await;
            return StatusCode::OK.into_response();
        }
    };
    record(&inner, method, headers, body, status);
    StatusCode::from_u16(status)
        .expect("a status")
        .into_response()
}

fn record(inner: &Mutex<Inner>, method: Method, headers: HeaderMap, body: Bytes, status: u16) {
    inner.lock().expect("lock").hits.push(Hit {
        method,
        headers,
        body: body.to_vec(),
        status,
    });
}

/// Standard Webhooks verification, written here from the specification rather than taken from
/// the hub: the key is the base64 after `whsec_`, the signed content `id.timestamp.body`, the
/// header `v1,` + base64 of HMAC-SHA256 (RFC 2104, on SHA-256 directly).
pub(crate) fn verifies(secret: &str, hit: &Hit) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").expect("a whsec_ secret"))
        .expect("base64");
    let mut content = format!("{}.{}.", hit.id(), hit.header("webhook-timestamp")).into_bytes();
    content.extend_from_slice(&hit.body);
    let expected = format!("v1,{}", STANDARD.encode(hmac_sha256(&key, &content)));
    hit.header("webhook-signature")
        .split(' ')
        .any(|candidate| candidate == expected)
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|k| k ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

#[test]
fn the_test_verifier_accepts_the_reference_vector() {
    let mut headers = HeaderMap::new();
    headers.insert(
        "webhook-id",
        "msg_p5jXN8AQM9LWM0D4loKWxJek".parse().expect("value"),
    );
    headers.insert("webhook-timestamp", "1614265330".parse().expect("value"));
    headers.insert(
        "webhook-signature",
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
            .parse()
            .expect("value"),
    );
    let hit = Hit {
        method: Method::POST,
        headers,
        body: br#"{"test": 2432232314}"#.to_vec(),
        status: 200,
    };
    assert!(verifies("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &hit));
    let tampered = Hit {
        body: br#"{"test": 2432232315}"#.to_vec(),
        ..hit
    };
    assert!(!verifies(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        &tampered
    ));
}
