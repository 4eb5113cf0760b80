//! How the CUCM client trusts the publisher's certificate ([`CucmTrust`]): the CA certificates
//! of a PEM file (names checked), one pinned certificate (its SHA-256, the signature of the
//! handshake still verified), or, only when the config says `accept_any_certificate = true`,
//! anything, with a warning logged at every client built. Without the `tls` feature there is
//! no client: CUCM speaks only HTTPS.

use std::time::Duration;

use crate::config::CucmTrust;

/// A reqwest client for CUCM trusting `trust`; the error says why none can be built.
#[cfg(feature = "tls")]
pub fn http_client(trust: &CucmTrust, timeout: Duration) -> Result<reqwest::Client, String> {
    // Err only when a provider is already installed for the process, which is as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let builder = reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .tls_backend_rustls();
    let builder = match trust {
        CucmTrust::CaFile(path) => {
            let pem = std::fs::read(path)
                .map_err(|e| format!("[cucm] ca_file {}: cannot read: {e}", path.display()))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| format!("[cucm] ca_file {}: {e}", path.display()))?;
            if certs.is_empty() {
                return Err(format!(
                    "[cucm] ca_file {}: no PEM certificate in it",
                    path.display()
                ));
            }
            builder.tls_certs_only(certs)
        }
        CucmTrust::Pinned(pin) => builder.tls_backend_preconfigured(pin::config(*pin)?),
        CucmTrust::AcceptAny => {
            tracing::warn!(
                "[cucm] accept_any_certificate = true: CUCM's certificate is NOT verified; \
                 anyone on the path can read the AXL password. Pin its fingerprint instead."
            );
            builder.tls_danger_accept_invalid_certs(true)
        }
    };
    builder
        .build()
        .map_err(|e| format!("the CUCM HTTPS client: {e}"))
}

/// Built without TLS: no client.
#[cfg(not(feature = "tls"))]
pub fn http_client(_trust: &CucmTrust, _timeout: Duration) -> Result<reqwest::Client, String> {
    Err("this zonecast was built without the `tls` feature; CUCM speaks only HTTPS".into())
}

/// SHA-256 of a certificate's DER.
#[cfg(feature = "tls")]
pub fn cert_sha256(der: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, der);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

#[cfg(feature = "tls")]
mod pin {
    use std::sync::Arc;

    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{DigitallySignedStruct, SignatureScheme};

    /// A rustls config accepting exactly the certificate whose SHA-256 is `pin`.
    pub(super) fn config(pin: [u8; 32]) -> Result<rustls::ClientConfig, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut c = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Pinned { pin, provider }))
            .with_no_client_auth();
        c.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(c)
    }

    #[derive(Debug)]
    struct Pinned {
        pin: [u8; 32],
        provider: Arc<CryptoProvider>,
    }

    fn hex(b: &[u8]) -> String {
        b.iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":")
    }

    impl ServerCertVerifier for Pinned {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp: &[u8],
            _now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            let got = super::cert_sha256(end_entity);
            if got == self.pin {
                Ok(ServerCertVerified::assertion())
            } else {
                Err(rustls::Error::General(format!(
                    "CUCM's certificate SHA-256 is {}, not the pinned {}",
                    hex(&got),
                    hex(&self.pin)
                )))
            }
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls12_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls13_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.provider
                .signature_verification_algorithms
                .supported_schemes()
        }
    }
}
