//! The two wrappers that carry a connection's identity: [`Admitted`] keeps the gate's permit for
//! as long as the stream lives, and [`WithPeer`] hands the peer address to every request.

use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Router;
use axum::extract::ConnectInfo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tower_service::Service;

use super::Permit;

/// A stream that holds its connection slot until it is dropped.
#[derive(Debug)]
pub struct Admitted<S> {
    stream: S,
    _permit: Permit,
}

impl<S> Admitted<S> {
    pub fn new(stream: S, permit: Permit) -> Self {
        Self {
            stream,
            _permit: permit,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Admitted<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Admitted<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// The router, with the connection's peer address put on each request as `ConnectInfo`.
#[derive(Debug, Clone)]
pub struct WithPeer {
    router: Router,
    peer: SocketAddr,
}

impl WithPeer {
    pub fn new(router: Router, peer: SocketAddr) -> Self {
        Self { router, peer }
    }
}

impl<B> Service<axum::http::Request<B>> for WithPeer
where
    Router: Service<axum::http::Request<B>>,
{
    type Response = <Router as Service<axum::http::Request<B>>>::Response;
    type Error = <Router as Service<axum::http::Request<B>>>::Error;
    type Future = <Router as Service<axum::http::Request<B>>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Service::<axum::http::Request<B>>::poll_ready(&mut self.router, cx)
    }

    fn call(&mut self, mut request: axum::http::Request<B>) -> Self::Future {
        request.extensions_mut().insert(ConnectInfo(self.peer));
        self.router.call(request)
    }
}
