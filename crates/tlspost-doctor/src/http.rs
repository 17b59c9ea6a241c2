//! tlspost's client, bound to the address step 2 connected to, for the probes and the device's
//! request.

use std::net::SocketAddr;

use tlspost::client::Answered;
use tlspost::{Client, Error, Trust};
use tlspost_proto::Budgets;

use crate::input::Request;
use crate::state::TlsState;
use crate::target::Target;

/// A client bound to the connected address. `keep_alive` decides the `Connection` header: the probes
/// close, the device's own request is sent with what the device sends.
pub(crate) fn client(
    target: &Target,
    addr: SocketAddr,
    req: &Request,
    trust: Trust,
    ua: Option<&str>,
    keep_alive: bool,
) -> Result<Client, Error> {
    let mut budgets = Budgets::default();
    let t = u64::try_from(req.connect_timeout.as_millis())
        .unwrap_or(u64::MAX)
        .max(1);
    budgets.connect = Some(t);
    budgets.handshake = Some(t);
    if !keep_alive {
        // A probe is a HEAD or GET: half a minute is plenty, and the doctor must not hang for long.
        budgets.total = Some(30_000);
        budgets.first_byte = Some(15_000);
    }
    let mut b = Client::builder()
        .trust(trust)
        .resolve(&target.host, target.port, addr)
        .budgets(budgets)
        .keep_alive(keep_alive);
    if let Some(ua) = ua {
        b = b.user_agent(ua);
    }
    b.build()
}

/// The device's pinned certificates as the client's trust.
pub(crate) fn pinned(tls: &TlsState) -> Trust {
    Trust::Pinned(tls.pinned.iter().map(|d| d.clone().into()).collect())
}

/// Who answered, in a sentence.
pub(crate) fn who(a: &Answered, status: u16) -> String {
    a.sentence(status)
}
