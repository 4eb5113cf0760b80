//! The console's HTTPS listener (`[server] https_listen`): browsers give the microphone only to
//! secure pages, and session cookies are `Secure` there. The same router and the same head and
//! body timeouts as the plain listener ([`super::http`]), over a TLS handshake of its own
//! deadline ([`HANDSHAKE_TIMEOUT`]); requests that came over it carry
//! [`super::http::Https`]. Phones never use it: their callbacks stay on plain HTTP.
//!
//! The certificate is the PEM pair `tls_cert`/`tls_key`, or (`tls_self_signed = true`) one made
//! with rcgen at first start for the names of `public_url`, `localhost` and `127.0.0.1` (and the
//! listener's own address), saved under the data directory ([`SELF_SIGNED_CERT`], and
//! [`SELF_SIGNED_KEY`] with mode 0600) and reused at later starts; delete both to make a new
//! one. Either way its SHA-256 fingerprint (`AB:CD:...`) is what a browser shows to compare.
//!
//! Built without the `tls` feature there is no listener (the config refuses `https_listen`).

use std::net::SocketAddr;
use std::time::Duration;

/// Longest a client may take to finish its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = super::http::HEADER_TIMEOUT;

/// The self-signed certificate's file under the data directory.
pub const SELF_SIGNED_CERT: &str = "tls/self-signed-cert.pem";
/// Its private key's file under the data directory (mode 0600).
pub const SELF_SIGNED_KEY: &str = "tls/self-signed-key.pem";

/// An HTTPS listener, bound, with its certificate loaded.
pub struct HttpsBound {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The certificate's SHA-256 fingerprint, `AB:CD:...`.
    pub fingerprint: String,
    #[cfg(feature = "tls")]
    listener: tokio::net::TcpListener,
    #[cfg(feature = "tls")]
    acceptor: tokio_rustls::TlsAcceptor,
}

#[cfg(feature = "tls")]
mod tls {
    use std::io;
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    use anyhow::Context as _;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use tokio::net::TcpStream;
    use tokio_rustls::TlsAcceptor;

    use super::{HANDSHAKE_TIMEOUT, HttpsBound, SELF_SIGNED_CERT, SELF_SIGNED_KEY};
    use crate::config::{HttpsListen, TlsIdentity};
    use crate::server::http::Handshake;

    /// Load the certificate (making the self-signed one if asked and absent) and bind.
    /// `public_host` is the host of `public_url`, a name the self-signed one is for.
    pub async fn bind(
        h: &HttpsListen,
        data_dir: &Path,
        public_host: Option<&str>,
    ) -> anyhow::Result<HttpsBound> {
        let (cert, key) = match &h.identity {
            TlsIdentity::Files { cert, key } => (cert.clone(), key.clone()),
            TlsIdentity::SelfSigned => {
                let mut names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
                names.extend(public_host.map(str::to_owned));
                if !h.listen.ip().is_unspecified() {
                    names.push(h.listen.ip().to_string());
                }
                names.dedup();
                self_signed(data_dir, names)?
            }
        };
        let certs = CertificateDer::pem_file_iter(&cert)
            .and_then(|i| i.collect::<Result<Vec<_>, _>>())
            .with_context(|| format!("[server] tls_cert {}", cert.display()))?;
        let leaf = certs
            .first()
            .with_context(|| format!("[server] tls_cert {}: no certificate", cert.display()))?;
        let fingerprint = fingerprint(leaf);
        let key = PrivateKeyDer::from_pem_file(&key)
            .with_context(|| format!("[server] tls_key {}", key.display()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .context("[server] tls_cert and tls_key do not make a certificate rustls takes")?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let listener = tokio::net::TcpListener::bind(h.listen)
            .await
            .with_context(|| format!("listening on {} ([server] https_listen)", h.listen))?;
        Ok(HttpsBound {
            addr: listener.local_addr()?,
            fingerprint,
            listener,
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }

    /// `AB:CD:...`: the SHA-256 of the certificate's DER, as browsers show it.
    pub fn fingerprint(cert: &[u8]) -> String {
        let d = ring::digest::digest(&ring::digest::SHA256, cert);
        let hex: Vec<String> = d.as_ref().iter().map(|b| format!("{b:02X}")).collect();
        hex.join(":")
    }

    /// The self-signed pair under `data_dir`: the one saved at an earlier start, or a new one
    /// for `names`.
    fn self_signed(data_dir: &Path, names: Vec<String>) -> anyhow::Result<(PathBuf, PathBuf)> {
        let (cert, key) = (
            data_dir.join(SELF_SIGNED_CERT),
            data_dir.join(SELF_SIGNED_KEY),
        );
        if cert.exists() && key.exists() {
            private(&key)?;
            return Ok((cert, key));
        }
        let mut params = rcgen::CertificateParams::new(names.clone())
            .with_context(|| format!("a self-signed certificate for {names:?}"))?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "zonecast console");
        let pair = rcgen::KeyPair::generate().context("a key for the self-signed certificate")?;
        let made = params
            .self_signed(&pair)
            .context("signing the self-signed certificate")?;
        if let Some(dir) = cert.parent() {
            std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
        }
        write_new(&key, pair.serialize_pem().as_bytes(), 0o600)?;
        write_new(&cert, made.pem().as_bytes(), 0o644)?;
        tracing::info!(
            "made a self-signed certificate for {} in {}",
            names.join(", "),
            cert.display()
        );
        Ok((cert, key))
    }

    /// Write `bytes` to `path` through a temporary file created with `mode`, so the key is
    /// never readable by others, not even for a moment, and a crash leaves no half file.
    fn write_new(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
        use std::io::Write as _;
        let tmp = path.with_extension("tmp");
        let _ = std::fs::remove_file(&tmp);
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, mode);
        #[cfg(not(unix))]
        let _ = mode;
        let mut f = opts.open(&tmp).with_context(|| tmp.display().to_string())?;
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .with_context(|| tmp.display().to_string())?;
        std::fs::rename(&tmp, path).with_context(|| path.display().to_string())
    }

    /// A saved key readable by others is made private again (someone copied it about).
    fn private(key: &Path) -> anyhow::Result<()> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(key)
                .with_context(|| key.display().to_string())?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                tracing::warn!(
                    "{} was readable by others (mode {:o}): made 0600",
                    key.display(),
                    mode & 0o777
                );
                std::fs::set_permissions(key, std::fs::Permissions::from_mode(0o600))
                    .with_context(|| key.display().to_string())?;
            }
        }
        Ok(())
    }

    /// The TLS handshake, within [`HANDSHAKE_TIMEOUT`].
    #[derive(Clone)]
    pub struct TlsHandshake(pub TlsAcceptor);

    impl Handshake for TlsHandshake {
        type Io = tokio_rustls::server::TlsStream<TcpStream>;
        const TLS: bool = true;

        async fn handshake(&self, tcp: TcpStream) -> io::Result<Self::Io> {
            tokio::time::timeout(HANDSHAKE_TIMEOUT, self.0.accept(tcp))
                .await
                .map_err(|_| {
                    io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("no TLS handshake within {} s", HANDSHAKE_TIMEOUT.as_secs()),
                    )
                })?
        }
    }
}

#[cfg(feature = "tls")]
pub use tls::fingerprint;

/// Load the certificate of `h` and bind its listener (see the module doc).
#[cfg(feature = "tls")]
pub async fn bind(
    h: &crate::config::HttpsListen,
    data_dir: &std::path::Path,
    public_host: Option<&str>,
) -> anyhow::Result<HttpsBound> {
    tls::bind(h, data_dir, public_host).await
}

/// Without the `tls` feature: refused (the config check already refused `https_listen`).
#[cfg(not(feature = "tls"))]
pub async fn bind(
    h: &crate::config::HttpsListen,
    _data_dir: &std::path::Path,
    _public_host: Option<&str>,
) -> anyhow::Result<HttpsBound> {
    anyhow::bail!(
        "[server] https_listen {}: this zonecast was built without the `tls` feature",
        h.listen
    )
}

/// Serve `app` over TLS on `bound` until `shutdown` resolves, as [`super::http::serve`] does.
pub async fn serve(
    bound: HttpsBound,
    app: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    #[cfg(feature = "tls")]
    super::http::serve_over(
        bound.listener,
        app,
        shutdown,
        tls::TlsHandshake(bound.acceptor),
    )
    .await;
    #[cfg(not(feature = "tls"))]
    {
        let _ = (bound, app);
        shutdown.await;
    }
}

/// Serve `app` on the plain `listener` and, when configured, on `https` beside it, until
/// `shutdown` has resolved (the plain listener keeps serving while it runs: the phones' stops
/// and callbacks); then both stop accepting and this returns once every connection has closed.
pub async fn serve_beside(
    listener: tokio::net::TcpListener,
    https: Option<HttpsBound>,
    app: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let (done_tx, mut done_rx) = tokio::sync::watch::channel(false);
    let tls = https.map(|bound| {
        let done = async move {
            let _ = done_rx.wait_for(|d| *d).await;
        };
        tokio::spawn(serve(bound, app.clone(), done))
    });
    super::http::serve(listener, app, async move {
        shutdown.await;
        let _ = done_tx.send(true);
    })
    .await;
    if let Some(t) = tls {
        let _ = t.await;
    }
}

/// Load `[server] https_listen`'s certificate and bind it, when the config names one.
pub async fn bind_configured(
    server: &crate::config::Server,
    public_url: &str,
) -> anyhow::Result<Option<HttpsBound>> {
    match &server.https {
        Some(h) => Ok(Some(bind(h, &server.data_dir, url_host(public_url)).await?)),
        None => Ok(None),
    }
}

/// The host of a URL (`http://HOST[:PORT][/...]`), for the self-signed certificate's names.
pub fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    (!host.is_empty()).then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_public_urls() {
        assert_eq!(url_host("http://10.0.0.5:8460"), Some("10.0.0.5"));
        assert_eq!(url_host("http://paging.example"), Some("paging.example"));
        assert_eq!(
            url_host("http://paging.example/x:y"),
            Some("paging.example")
        );
        assert_eq!(url_host("http://[::1]:8460"), Some("::1"));
        assert_eq!(url_host("http://"), None);
    }

    #[cfg(feature = "tls")]
    #[test]
    fn fingerprints_are_colon_separated_upper_hex_sha256() {
        // SHA-256 of "abc".
        assert_eq!(
            fingerprint(b"abc"),
            "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD"
        );
    }
}
