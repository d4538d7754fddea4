//! HTTPS for the mock, so that the client's real path (TLS, ALPN h2, certificate checks) is
//! tested on 127.0.0.1: a private CA and a leaf certificate for `localhost` and `127.0.0.1`,
//! made at start-up with rcgen, and a listener that accepts TLS and offers h2 and http/1.1.

use std::net::SocketAddr;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::server::TlsStream;

/// The mock's private CA (PEM, to give the client as `--cacert`) and the server's TLS setup.
pub(crate) struct Tls {
    pub(crate) ca_pem: String,
    pub(crate) acceptor: TlsAcceptor,
}

/// A CA, and a leaf for `localhost` and `127.0.0.1` signed by it. `expired` makes the leaf's
/// validity end in the past, for the client's "certificate expired" path.
pub(crate) fn make(expired: bool, h2: bool) -> Tls {
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "pricefetch mock CA");
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("CA key")).expect("CA");
    let mut leaf =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).expect("leaf");
    if expired {
        leaf.not_before = rcgen::date_time_ymd(2020, 1, 1);
        leaf.not_after = rcgen::date_time_ymd(2021, 1, 1);
    }
    let key = KeyPair::generate().expect("leaf key");
    let cert = leaf.signed_by(&key, &ca).expect("leaf signed");
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone(), ca.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .expect("server TLS config");
    config.alpn_protocols = if h2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Tls {
        ca_pem: ca.pem(),
        acceptor: TlsAcceptor::from(Arc::new(config)),
    }
}

/// Accepts TCP connections and completes their TLS handshakes; failed handshakes (a client
/// that does not trust the certificate) are counted and dropped.
pub(crate) struct TlsListener {
    pub(crate) tcp: TcpListener,
    pub(crate) acceptor: TlsAcceptor,
    /// Called with `None` for every TCP connection as it is accepted (before the handshake, so
    /// that a client refusing the certificate has been counted before it sees it), then with
    /// whether it negotiated h2 once the handshake succeeds.
    pub(crate) on_connect: Box<dyn Fn(Option<bool>) + Send + Sync>,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            // As hyper's own listener does: no Nagle delay on small answers.
            let _ = tcp.set_nodelay(true);
            (self.on_connect)(None);
            if let Ok(tls) = self.acceptor.accept(tcp).await {
                (self.on_connect)(Some(tls.get_ref().1.alpn_protocol() == Some(b"h2")));
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}
