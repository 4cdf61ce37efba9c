//! The hub's HTTP surface for a test: the real router on a free port of 127.0.0.1.

use std::net::SocketAddr;
use std::sync::Arc;

use samverkan::http::{HttpState, serve};
use samverkan::pipeline::Pipeline;
use samverkan::transport::{Shutdown, ShutdownTrigger};

/// `pipeline`'s HTTP surface (no broker links) on a free port, until the trigger fires.
pub async fn serve_http(pipeline: Arc<Pipeline>) -> (SocketAddr, ShutdownTrigger) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let address = listener.local_addr().expect("address");
    let (trigger, shutdown) = Shutdown::new();
    let state = HttpState {
        pipeline,
        broker: None,
        publisher: None,
        console: None,
    };
    tokio::spawn(serve(listener, state, shutdown));
    (address, trigger)
}
