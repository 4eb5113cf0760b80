//! Our Contact in the dialogs callers open: rsipstack names its first listener (UDP) in every
//! dialog; a caller on TCP gets our TCP listener with `transport=tcp`, so its trunk keeps the
//! dialog's requests (BYE, re-INVITE) on TCP. The agent listens on both at one address and
//! port ([`super::ua`]).

use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::sip::{Param, Transport, Uri};
use rsipstack::transaction::transaction::Transaction;

/// Our Contact for the dialog a new INVITE opens: rsipstack's default names its first listener
/// (UDP, no transport); an INVITE that came over TCP gets the TCP listener's address with
/// `transport=tcp`, so the trunk keeps the dialog's requests on TCP. `None`: the default.
pub(super) fn local_contact(layer: &DialogLayer, tx: &Transaction) -> Option<Uri> {
    let transport = tx.connection.as_ref()?.transport();
    if transport == Transport::Udp {
        return None;
    }
    let listener = layer
        .endpoint
        .transport_layer
        .get_listen_addrs()
        .into_iter()
        .find(|a| a.r#type == Some(transport))?;
    Some(Uri {
        scheme: Some(rsipstack::sip::Scheme::Sip),
        host_with_port: listener.addr,
        params: vec![Param::Transport(transport)],
        ..Default::default()
    })
}
